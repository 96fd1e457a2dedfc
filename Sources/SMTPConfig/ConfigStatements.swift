/// Statement dispatch (first word of a line, or `NAME =` for a macro), macro definitions
/// and `include`.
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
        if faultsOnly && keyword != "fault" {
            advance()
            throw fail(
                "\(keyword): only fault statements can be loaded into a running smtpd (the rest "
                    + "of smtpd.conf needs a restart)", at: token)
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
        case "fault": try fault()
        case "control": try control()
        case "transcript": try transcript()
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
}

/// Thrown by statements that consumed their own end of line (macro definitions and
/// includes): not an error.
struct StatementEnded: Error {}
