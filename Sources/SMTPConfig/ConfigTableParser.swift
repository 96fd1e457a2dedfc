/// `table` statements and table arguments: `<name>`, `{ … }` or a single value.
extension ConfigParser {
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
                    // Report it and parse this line as the statement it is.
                    var abort = fail(
                        "missing \"}\" to close the table opened at line \(open.line)", at: peek())
                    abort.skipRestOfLine = false
                    throw abort
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
}
