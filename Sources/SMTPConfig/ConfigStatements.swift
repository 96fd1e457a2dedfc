/// Statement dispatch and the statements that are neither listen, action, match nor old
/// rules: macros, include, tables, pki/ca and global settings.
extension ConfigParser {
    mutating func statement() throws {
        let token = peek()
        if case .symbol(let c) = peek(1).kind, c == UInt8(ascii: "=") {
            return try macroDefinition()
        }
        guard case .word(let keyword) = token.kind else {
            if case .quoted = token.kind {
                throw unexpected(peek(1), expected: "\"=\" (a macro definition)")
            }
            throw unexpected(token, expected: "a statement")
        }
        switch keyword {
        case "include": try include()
        case "listen": try listen()
        case "table": try table()
        case "action": try action()
        case "match": try match()
        case "pki": try pki()
        case "ca": try ca()
        case "smtp": try smtp()
        case "queue": try queue()
        case "bounce": try bounce()
        case "mta": try mta()
        case "mda": try mda()
        case "scheduler":
            advance()
            try expect("limit")
            try limitPairs()
        case "srs": try srs()
        case "admd":
            advance()
            config.admd = try parseString("an ADMD identifier")
        case "proc", "filter": try skipFilterStatement()
        // Old grammar (≤ 6.0).
        case "accept", "reject": try oldRule()
        case "limit": try oldLimit()
        case "max-message-size":
            reserved = Keywords.old
            advance()
            config.maxMessageSize = try parseSize()
        case "expire":
            reserved = Keywords.old
            advance()
            config.queue.ttl = try parseDelay("expire delay")
        case "bounce-warn":
            reserved = Keywords.old
            advance()
            config.queue.bounceWarnIntervals = try delayList()
        case "max-mta-deferred":
            reserved = Keywords.old
            advance()
            config.mtaMaxDeferred = Int(try parseNumber("a number"))
        case "ciphers":
            reserved = Keywords.old
            advance()
            config.ciphers = try parseString("a cipher list")
        case "subaddressing-delimiter":
            reserved = Keywords.old
            advance()
            try subaddressDelimiter()
        default:
            advance()
            throw fail(
                "syntax error: unknown statement \"\(keyword)\" (expected listen, table, action, "
                    + "match, pki, ca, smtp, queue, include, a macro definition, or the old "
                    + "accept, reject, limit, …)", at: token)
        }
    }

    // MARK: macros and include

    /// `name = "value"`: a `-D` value of the same name wins.
    mutating func macroDefinition() throws {
        let nameToken = peek()
        let name: String
        switch nameToken.kind {
        case .word(let w):
            if Keywords.new.contains(w) {
                throw fail(
                    "syntax error: \"\(w)\" is a keyword and cannot be a macro name", at: nameToken)
            }
            name = w
        case .quoted(let s): name = s
        default: throw unexpected(nameToken, expected: "a macro name")
        }
        advance()
        if name.contains(where: { $0 == " " || $0 == "\t" }) {
            throw fail("macro name cannot contain whitespace", at: nameToken)
        }
        try expect(symbol: "=")
        let value = try parseString("a macro value")
        try endOfStatement()
        // Defined only now: the next line may use it (the lexer has not read it yet).
        if !persistentMacros.contains(name) { lexer.macros[name] = value }
        throw StatementEnded()
    }

    /// `include "/absolute/path"`: the file's statements are read here.
    mutating func include() throws {
        advance()
        let pathToken = peek()
        let path = try parseString("a quoted absolute path")
        guard path.hasPrefix("/") else {
            throw fail("include path must be absolute: \(path)", at: pathToken)
        }
        guard !includeStack.contains(path) else {
            throw fail("include loop: \(path) is already being read", at: pathToken)
        }
        let text: String
        do {
            text = try includeLoader(path)
        } catch {
            throw fail("failed to include file \(path): \(error)", at: pathToken)
        }
        try endOfStatement()
        var inner = ConfigLexer(text: text, file: path, macros: lexer.macros)
        swap(&inner, &lexer)
        let savedLookahead = takeLookahead()
        includeStack.append(path)
        parseFile()
        includeStack.removeLast()
        swap(&inner, &lexer)
        lexer.macros = inner.macros
        restoreLookahead(savedLookahead)
        throw StatementEnded()
    }

    // MARK: tables

    /// `table NAME [type:]PATH` or `table NAME { … }`.
    mutating func table() throws {
        advance()
        let nameToken = peek()
        let name = try parseString("a table name")
        if let first = config.tableLocations[name] {
            throw fail(
                "table already declared with that name: \(name) (first declared at \(first))",
                at: nameToken)
        }
        let table: Table
        if at(symbol: "{") {
            table = try inlineTable()
        } else {
            let sourceToken = peek()
            let source = try parseString("[type:]\"/absolute/path\" or { … }")
            table = try fileTable(source, name: name, at: sourceToken)
        }
        config.tables[name] = table
        config.tableLocations[name] = location(nameToken)
    }

    private mutating func fileTable(_ source: String, name: String, at token: Token) throws -> Table
    {
        if source.hasPrefix("/") { return .file(path: source, type: "file") }
        guard let colon = source.firstIndex(of: ":") else {
            throw fail(
                "invalid table source for \(name): \(source) (expected [type:]\"/absolute/path\")",
                at: token)
        }
        let type = String(source[..<colon])
        let path = String(source[source.index(after: colon)...])
        guard path.hasPrefix("/") else {
            throw fail("table path must be absolute: \(path) (table \(name))", at: token)
        }
        guard !type.isEmpty else {
            throw fail("invalid table source for \(name): \(source)", at: token)
        }
        return .file(path: path, type: type)
    }

    /// Whether a table argument follows (for options whose table is optional).
    var atTable: Bool {
        mutating get { at(symbol: "<") || at(symbol: "{") || atString }
    }

    /// `<name>`, `{ … }` or a single value.
    mutating func parseTableRef(_ what: String = "a table (<name>, { … } or a value)") throws
        -> TableRef
    {
        if at(symbol: "<") {
            advance()
            let nameToken = peek()
            let name = try parseString("a table name")
            try expect(symbol: ">")
            guard config.tables[name] != nil else {
                throw fail(
                    "no such table: \(name) (declare it first with: table \(name) …)", at: nameToken
                )
            }
            return .named(name)
        }
        if at(symbol: "{") { return .inline(try inlineTable()) }
        return .inline(.list([try parseString(what)]))
    }

    /// `{ a, b }` or `{ k = v, k2 => v2 }`; entries separated by commas and/or newlines.
    mutating func inlineTable() throws -> Table {
        let open = advance()
        var values: [String] = []
        var pairs: [KeyValue] = []
        while true {
            while case .newline = peek().kind {
                advance()
                if case .word(let w) = peek().kind, Keywords.statements.contains(w) {
                    braceDepth = 0
                    throw fail(
                        "missing \"}\" to close the table opened at line \(open.line)", at: peek())
                }
            }
            if at(symbol: "}") {
                let close = peek()
                guard !values.isEmpty || !pairs.isEmpty else {
                    throw fail("syntax error: empty table", at: close)
                }
                advance()
                break
            }
            let entryToken = peek()
            if case .end = entryToken.kind {
                throw fail(
                    "missing \"}\" to close the table opened at line \(open.line)", at: entryToken)
            }
            let key = try tableValue()
            if accept(symbol: "=") || acceptArrow() {
                let value = try tableValue()
                guard values.isEmpty else { throw mixed(entryToken) }
                pairs.append(KeyValue(key, value))
            } else {
                guard pairs.isEmpty else { throw mixed(entryToken) }
                values.append(key)
            }
            _ = accept(symbol: ",")
        }
        return pairs.isEmpty ? .list(values) : .mapping(pairs)
    }

    private mutating func mixed(_ token: Token) -> StatementAbort {
        fail("a table holds either values or key = value pairs, not both", at: token)
    }

    private mutating func acceptArrow() -> Bool {
        guard case .arrow = peek().kind else { return false }
        advance()
        return true
    }

    private mutating func tableValue() throws -> String {
        if case .symbol = peek().kind {
            throw unexpected(
                peek(), expected: "a table value (quote values with special characters: \"@\")")
        }
        return try parseString("a table value")
    }

    // MARK: pki, ca

    /// `pki NAME cert|certificate "F" | key "F" | dhe none|auto|legacy …`.
    mutating func pki() throws {
        advance()
        let name = try parseString("a pki name").lowercased()
        let start = consumed[0]
        var declaration = config.pkis[name] ?? PKIDeclaration(location: location(start))
        var any = false
        while !atEndOfStatement {
            if accept("cert") || accept("certificate") {
                declaration.certificate = try parseString("a quoted certificate file")
            } else if accept("key") {
                declaration.key = try parseString("a quoted key file")
            } else if accept("dhe") {
                let token = peek()
                let value = try parseString("none, auto or legacy")
                guard ["none", "auto", "legacy"].contains(value.lowercased()) else {
                    throw fail("invalid DHE keyword: \(value)", at: token)
                }
                declaration.dhe = value.lowercased()
            } else {
                throw unexpected(peek(), expected: "cert, key or dhe")
            }
            any = true
        }
        if !any { throw unexpected(peek(), expected: "cert, key or dhe") }
        config.pkis[name] = declaration
    }

    /// `ca NAME cert|certificate "F"`.
    mutating func ca() throws {
        advance()
        let name = try parseString("a ca name").lowercased()
        guard accept("cert") || accept("certificate") else {
            throw unexpected(peek(), expected: "cert")
        }
        config.cas[name] = try parseString("a quoted certificate file")
    }

    // MARK: global settings

    /// `smtp limit max-rcpt N max-mails N`, `smtp max-message-size SIZE`,
    /// `smtp sub-addr-delim C`, `smtp ciphers STR`.
    mutating func smtp() throws {
        advance()
        if accept("limit") {
            try sessionLimits()
        } else if accept("max-message-size") {
            config.maxMessageSize = try parseSize()
        } else if accept("sub-addr-delim") {
            try subaddressDelimiter()
        } else if accept("ciphers") {
            config.ciphers = try parseString("a cipher list")
        } else {
            throw unexpected(peek(), expected: "limit, max-message-size, sub-addr-delim or ciphers")
        }
    }

    /// `max-rcpt N` / `max-mails N` pairs (new `smtp limit`, old `limit session`).
    mutating func sessionLimits() throws {
        var any = false
        while !atEndOfStatement {
            let keyToken = peek()
            guard case .word(let key) = keyToken.kind, key == "max-rcpt" || key == "max-mails"
            else {
                if case .word(let key) = keyToken.kind {
                    throw fail(
                        "invalid session limit keyword: \(key) (expected max-rcpt or max-mails)",
                        at: keyToken)
                }
                throw unexpected(keyToken, expected: "max-rcpt or max-mails")
            }
            advance()
            let valueToken = peek()
            let value = try parseNumber("a number")
            guard value >= 1, value <= Int64(Int32.max) else {
                throw fail("invalid \(key): \(value) (must be at least 1)", at: valueToken)
            }
            if key == "max-rcpt" {
                config.maxRecipients = Int(value)
            } else {
                config.maxMailsPerSession = Int(value)
            }
            any = true
        }
        if !any { throw unexpected(peek(), expected: "max-rcpt or max-mails") }
    }

    mutating func subaddressDelimiter() throws {
        let token = peek()
        let value = try parseString("one character")
        guard value.utf8.count == 1, let c = value.utf8.first else {
            throw fail("subaddressing-delimiter must be one character", at: token)
        }
        guard c > 0x20, c < 0x7F, c != UInt8(ascii: "@") else {
            throw fail("sub-addr-delim uses invalid character", at: token)
        }
        config.subaddressDelimiter = value
    }

    /// `queue compression | encryption [KEY] | encryption key KEY (old) | ttl DELAY`.
    mutating func queue() throws {
        advance()
        if accept("compression") {
            config.queue.compression = true
            if atString { _ = try parseString("an algorithm") }  // old: `compression gzip`
        } else if accept("encryption") {
            config.queue.encryption = true
            _ = accept("key")
            if atString { config.queue.encryptionKey = try parseString("a key") }
        } else if accept("ttl") {
            config.queue.ttl = try parseDelay("ttl delay")
        } else {
            throw unexpected(peek(), expected: "compression, encryption or ttl")
        }
    }

    /// `bounce warn-interval D[, D…]`.
    mutating func bounce() throws {
        advance()
        try expect("warn-interval")
        config.queue.bounceWarnIntervals = try delayList()
    }

    mutating func delayList() throws -> [Int] {
        var delays = [try parseDelay("bounce delay")]
        while accept(symbol: ",") { delays.append(try parseDelay("bounce delay")) }
        return delays
    }

    /// `mta max-deferred N`, `mta limit [for domain D] …`.
    mutating func mta() throws {
        advance()
        if accept("max-deferred") {
            config.mtaMaxDeferred = Int(try parseNumber("a number"))
        } else if accept("limit") {
            if accept("for") {
                try expect("domain")
                _ = try parseString("a domain")
            }
            try limitPairs(familyAllowed: true)
        } else {
            throw unexpected(peek(), expected: "max-deferred or limit")
        }
    }

    /// `mda limit …`, `mda wrapper NAME "CMD"`.
    mutating func mda() throws {
        advance()
        if accept("limit") {
            try limitPairs()
        } else if accept("wrapper") {
            let nameToken = peek()
            let name = try parseString("a wrapper name")
            let command = try parseFormat("a quoted command")
            guard config.mdaWrappers[name] == nil else {
                throw fail("mda wrapper already declared with that name: \(name)", at: nameToken)
            }
            config.mdaWrappers[name] = command
        } else {
            throw unexpected(peek(), expected: "limit or wrapper")
        }
    }

    /// `KEY NUMBER …` pairs of the limits the server ignores (and `inet4`/`inet6` for mta).
    mutating func limitPairs(familyAllowed: Bool = false) throws {
        var any = false
        while !atEndOfStatement {
            any = true
            if familyAllowed && (accept("inet4") || accept("inet6")) { continue }
            _ = try parseString("a limit keyword")
            _ = try parseNumber("a number")
        }
        if !any { throw unexpected(peek(), expected: "a limit keyword") }
    }

    /// `srs key [backup] K`, `srs ttl D`.
    mutating func srs() throws {
        advance()
        if accept("key") {
            let backup = accept("backup")
            let key = try parseString("a key")
            if !backup { config.srsKey = key }
        } else if accept("ttl") {
            _ = try parseDelay("srs ttl delay")
        } else {
            throw unexpected(peek(), expected: "key or ttl")
        }
    }

    /// `filter NAME …` / `proc NAME …`: only the filter's name is kept (MailLab runs no
    /// filters). XXX: the rest of the line is not checked.
    mutating func skipFilterStatement() throws {
        let keyword = advance()
        let name = try parseString("a name")
        if case .word("filter") = keyword.kind { config.filters.insert(name) }
        while !atEndOfStatement {
            if at(symbol: "{") {
                _ = try inlineTable()
            } else {
                advance()
            }
        }
    }
}

/// Thrown by statements that consumed their own end of line (macro definitions and
/// includes): not an error.
struct StatementEnded: Error {}
