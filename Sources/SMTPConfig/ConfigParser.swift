/// Thrown inside the parser after an error has been recorded: the statement is dropped and
/// parsing resumes on the next line (OpenSMTPD's `error '\n'` rule).
struct StatementAbort: Error {
    /// False when the next token already starts the next statement (a forgotten `}`).
    var skipRestOfLine = true
}

/// Recursive-descent parser for both grammars, one statement per line. Errors are
/// collected; a failed statement leaves nothing in the model.
struct ConfigParser {
    var config = SMTPConfiguration()
    var errors: [ConfigError] = []
    var lexer: ConfigLexer
    private var lookahead: [Token] = []
    /// Tokens of the current statement, quoted in syntax errors.
    var consumed: [Token] = []
    /// Reserved words for the current statement (see `Keywords`).
    var reserved = Keywords.new
    var braceDepth = 0
    /// Files being read, outermost first: an include of one of them is a loop.
    var includeStack: [String]
    let includeLoader: (String) throws -> String
    /// Macros given on the command line (`-D`): file definitions do not replace them.
    let persistentMacros: Set<String>
    var actionLocations: [String: SourceLocation] = [:]
    /// A fault file loaded at run time (`smtpctl load faults`): `fault` statements and macro
    /// definitions only, and no rule needed.
    var faultsOnly = false

    init(
        text: String, file: String, macros: [String: String],
        includeLoader: @escaping (String) throws -> String
    ) {
        lexer = ConfigLexer(text: text, file: file, macros: macros)
        includeStack = [file]
        self.includeLoader = includeLoader
        persistentMacros = Set(macros.keys)
    }

    var file: String { lexer.file }

    func location(_ token: Token) -> SourceLocation {
        SourceLocation(file: file, line: token.line)
    }

    // MARK: running

    mutating func run() -> (SMTPConfiguration, [ConfigError]) {
        parseFile()
        if config.rules.isEmpty && !faultsOnly {
            errors.append(
                ConfigError(
                    location: SourceLocation(file: file, line: lexer.lastLine),
                    message: "no rules, nothing to do"))
        }
        config.macros = lexer.macros
        return (config, errors)
    }

    /// Statements whose only changes are appends to `rules`, `actions` (with their
    /// `actionLocations`) and `listeners`.
    static let appendOnlyStatements: Set<String> = [
        "match", "accept", "reject", "action", "listen",
    ]

    mutating func parseFile() {
        while true {
            consumed = []
            braceDepth = 0
            reserved = Keywords.new
            let token = peek()
            switch token.kind {
            case .end:
                return
            case .newline:
                advance()
                continue
            default:
                // A failed statement leaves nothing behind. Statements that only append
                // (rules, actions, listeners) are undone by truncating: a copy of the whole
                // configuration kept meanwhile would make each append copy every rule so far
                // (quadratic in the number of statements).
                var appendOnly = false
                if case .word(let keyword) = token.kind {
                    appendOnly = Self.appendOnlyStatements.contains(keyword)
                }
                let saved = appendOnly ? nil : (config, actionLocations)
                let counts = (config.rules.count, config.actions.count, config.listeners.count)
                do {
                    try statement()
                    try endOfStatement()
                } catch is StatementEnded {
                    // The statement consumed its own end of line.
                } catch {
                    if let saved {
                        (config, actionLocations) = saved
                    } else {
                        for action in config.actions[counts.1...] {
                            actionLocations[action.name] = nil
                        }
                        config.rules.removeSubrange(counts.0...)
                        config.actions.removeSubrange(counts.1...)
                        config.listeners.removeSubrange(counts.2...)
                    }
                    if (error as? StatementAbort)?.skipRestOfLine != false { recover() }
                }
            }
        }
    }

    /// Skips to the end of the statement: the next newline outside braces.
    private mutating func recover() {
        while true {
            let token = peek()
            switch token.kind {
            case .end:
                return
            case .newline where braceDepth == 0:
                advance()
                return
            default:
                advance()
            }
        }
    }

    mutating func endOfStatement() throws {
        let token = peek()
        switch token.kind {
        case .newline: advance()
        case .end: break
        default: throw unexpected(token, expected: "end of line")
        }
    }

    // MARK: tokens

    private mutating func fetch() -> Token {
        let token = lexer.next()
        errors += lexer.takeErrors()
        return token
    }

    mutating func peek(_ offset: Int = 0) -> Token {
        while lookahead.count <= offset { lookahead.append(fetch()) }
        return lookahead[offset]
    }

    mutating func takeLookahead() -> [Token] {
        defer { lookahead = [] }
        return lookahead
    }

    mutating func restoreLookahead(_ tokens: [Token]) { lookahead = tokens }

    @discardableResult
    mutating func advance() -> Token {
        let token = peek()
        lookahead.removeFirst()
        consumed.append(token)
        if case .symbol(let c) = token.kind {
            if c == UInt8(ascii: "{") { braceDepth += 1 }
            if c == UInt8(ascii: "}") { braceDepth = max(0, braceDepth - 1) }
        }
        return token
    }

    /// The next token is the unquoted word `word` (keywords are matched by text).
    mutating func at(_ word: String) -> Bool {
        if case .word(let w) = peek().kind { return w == word }
        return false
    }

    mutating func at(symbol: Character) -> Bool {
        if case .symbol(let c) = peek().kind { return c == symbol.asciiValue }
        return false
    }

    /// Consumes `word` if it is next.
    mutating func accept(_ word: String) -> Bool {
        guard at(word) else { return false }
        advance()
        return true
    }

    mutating func accept(symbol: Character) -> Bool {
        guard at(symbol: symbol) else { return false }
        advance()
        return true
    }

    mutating func expect(_ word: String) throws {
        guard accept(word) else { throw unexpected(peek(), expected: "\"\(word)\"") }
    }

    mutating func expect(symbol: Character) throws {
        guard accept(symbol: symbol) else { throw unexpected(peek(), expected: "\"\(symbol)\"") }
    }

    var atEndOfStatement: Bool {
        mutating get {
            switch peek().kind {
            case .newline, .end: return true
            default: return false
            }
        }
    }

    // MARK: values

    /// A name or value: an unquoted word that is not reserved, a quoted string, or a
    /// number (taken as its text; OpenSMTPD refuses bare numbers here).
    mutating func parseString(_ what: String) throws -> String {
        let token = peek()
        switch token.kind {
        case .word(let w):
            if reserved.contains(w) {
                throw fail(
                    "syntax error: \"\(w)\" is a reserved keyword; quote it (\"\(w)\") "
                        + "to use it as \(what)", at: token)
            }
            advance()
            return w
        case .quoted(let s):
            advance()
            return s
        case .number(let n):
            advance()
            return String(n)
        default:
            throw unexpected(token, expected: what)
        }
    }

    /// Whether the next token can start a string value (for optional arguments).
    var atString: Bool {
        mutating get {
            switch peek().kind {
            case .word(let w): return !reserved.contains(w)
            case .quoted, .number: return true
            default: return false
            }
        }
    }

    mutating func parseNumber(_ what: String) throws -> Int64 {
        let token = peek()
        guard case .number(let n) = token.kind else { throw unexpected(token, expected: what) }
        advance()
        return n
    }

    /// `scan_scaled` size: a number, or a word/string such as `35M`.
    mutating func parseSize() throws -> Int {
        let token = peek()
        switch token.kind {
        case .number(let n):
            advance()
            guard n >= 0, let value = Int(exactly: n) else {
                throw fail("invalid size: \(n)", at: token)
            }
            return value
        case .word(let s), .quoted(let s):
            advance()
            guard let value = ConfigUnits.scaled(s) else {
                throw fail(
                    "invalid size: \(s) (expected a number with an optional K, M or G unit)",
                    at: token)
            }
            return value
        default:
            throw unexpected(token, expected: "a size such as 35M")
        }
    }

    /// `delaytonum` delay such as `4d`, in seconds.
    mutating func parseDelay(_ what: String) throws -> Int {
        let token = peek()
        let text = try parseString("a delay such as 4d")
        guard let seconds = ConfigUnits.delay(text) else {
            throw fail(
                "invalid \(what): \(text) (expected a number followed by s, m, h or d)", at: token)
        }
        return seconds
    }

    // MARK: errors

    mutating func error(_ message: String, at token: Token) {
        errors.append(ConfigError(location: location(token), message: message))
    }

    /// Records `message` and returns the abort to throw.
    mutating func fail(_ message: String, at token: Token) -> StatementAbort {
        error(message, at: token)
        return StatementAbort()
    }

    /// The statement so far, as shown after "after".
    var context: String {
        let shown = consumed.suffix(8).map(\.contextDisplay).joined(separator: " ")
        return consumed.count > 8 ? "… " + shown : shown
    }

    /// A syntax error naming the unexpected token and what came before it.
    mutating func unexpected(_ token: Token, expected: String? = nil) -> StatementAbort {
        var message: String
        switch token.kind {
        case .invalid:
            return StatementAbort()  // the lexer already said why
        case .unquotedPath(let path):
            message = "syntax error: unquoted path \(path)"
            if !consumed.isEmpty { message += " after \"\(context)\"" }
            message += ": paths must be quoted (\"\(path)\")"
            return fail(message, at: token)
        case .newline:
            message = "syntax error: unexpected end of line"
        case .end:
            message = "syntax error: unexpected end of file"
        case .quoted(let s):
            message = "syntax error: unexpected string \"\(s)\""
        default:
            message = "syntax error: unexpected \"\(token.display)\""
        }
        if !consumed.isEmpty { message += " after \"\(context)\"" }
        if let expected { message += ", expected \(expected)" }
        return fail(message, at: token)
    }
}

extension Token {
    /// As `display`, but a quoted word is shown bare: `action "local" foo` gives
    /// `after "action local"`.
    var contextDisplay: String {
        if case .quoted(let s) = kind, !s.isEmpty,
            s.utf8.allSatisfy({ ConfigLexer.allowedInString(Int($0)) })
        {
            return s
        }
        return display
    }
}

extension ConfigLexer {
    /// Hands over the errors found so far.
    mutating func takeErrors() -> [ConfigError] {
        let taken = errors
        clearErrors()
        return taken
    }
}
