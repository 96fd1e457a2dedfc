/// One token of smtpd.conf.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        /// An unquoted word (keyword or not; the parser decides by position).
        case word(String)
        /// A quoted string: never a keyword, never a number.
        case quoted(String)
        /// A word made only of digits (and a leading `-`).
        case number(Int64)
        /// `{ } < > ! = , ( ) -` and any other single character that starts no word.
        case symbol(UInt8)
        /// `=>`
        case arrow
        /// `/tmp/x`, `~/Maildir`, `./x` written without quotes: always an error.
        case unquotedPath(String)
        case newline
        case end
        /// The lexer already reported an error on this line.
        case invalid
    }

    var kind: Kind
    var line: Int

    /// How the token is shown in messages.
    var display: String {
        switch kind {
        case .word(let w): return w
        case .quoted(let s): return "'\(s)'"
        case .number(let n): return String(n)
        case .symbol(let c): return String(UnicodeScalar(c))
        case .arrow: return "=>"
        case .unquotedPath(let p): return p
        case .newline: return "end of line"
        case .end: return "end of file"
        case .invalid: return "invalid token"
        }
    }
}

/// smtpd.conf lexer, after OpenSMTPD's `yylex`/`lgetc` (parse.y): `\`-newline joins lines
/// everywhere (also inside comments), `#` comments to end of line, `$name` macros expanded
/// as text (not inside quotes, not inside an expansion), quotes with `\"`, `\ `, `\<TAB>`
/// escapes, numbers only when a digit run ends at a space or `) , / } =`, words starting
/// with a letter, digit, `:` or `_` and running over letters, digits and punctuation other
/// than `( ) { } < > ! = # ,`.
///
/// Departures: a carriage return counts as a blank (CRLF files work); `\` at end of file
/// and an unterminated quote are reported; an unquoted path gets its own token so the
/// parser can say that paths must be quoted.
struct ConfigLexer {
    let file: String
    private let bytes: [UInt8]
    private var position = 0
    /// Characters given back (a stack), and the expansion markers.
    private var pushback: [Int] = []
    private var expanding = false
    private var eofReached = false
    private var physicalLine = 1
    /// First line of the current `\`-continued line: the line every token on it reports.
    private var logicalLine = 1
    /// Last line of the file, the line reported for anything found at its end.
    let lastLine: Int

    var macros: [String: String]
    private(set) var errors: [ConfigError] = []

    private static let eof = -1
    private static let startExpand = -2
    private static let doneExpand = -3

    init(text: String, file: String, macros: [String: String]) {
        self.file = file
        self.bytes = Array(text.utf8)
        self.macros = macros
        let newlines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        lastLine = max(1, bytes.last == 0x0A ? newlines : newlines + 1)
    }

    // MARK: characters

    private mutating func igetc() -> Int {
        while true {
            let c: Int
            if let p = pushback.popLast() {
                c = p
            } else if position < bytes.count {
                c = Int(bytes[position])
                position += 1
            } else {
                c = Self.eof
            }
            if c == Self.startExpand {
                expanding = true
            } else if c == Self.doneExpand {
                expanding = false
            } else {
                return c
            }
        }
    }

    private mutating func lgetc(quoted: Bool = false) -> Int {
        if quoted { return igetc() }
        var c = igetc()
        while c == 0x5C {  // backslash
            let next = igetc()
            if next == 0x0A {
                physicalLine += 1
                c = igetc()
                continue
            }
            if next == Self.eof {
                report("line continuation (\\) at end of file", line: lastLine)
            }
            c = next
            break
        }
        if c == Self.eof && !eofReached {
            // A last line without newline still ends its statement.
            eofReached = true
            return 0x0A
        }
        return c
    }

    private mutating func lungetc(_ c: Int) {
        if c != Self.eof { pushback.append(c) }
    }

    mutating func clearErrors() { errors = [] }

    private mutating func report(_ message: String, line: Int) {
        errors.append(
            ConfigError(
                location: SourceLocation(file: file, line: min(line, lastLine)),
                message: message))
    }

    /// Skips the rest of the line after a lexical error, leaving the newline to be read.
    private mutating func findEOL(line: Int) -> Token {
        while true {
            let c = lgetc()
            if c == 0x0A {
                lungetc(c)
                break
            }
            if c == Self.eof { break }
        }
        return Token(kind: .invalid, line: min(line, lastLine))
    }

    // MARK: classes (ASCII, as in the C locale)

    static func isAlnum(_ c: Int) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
    }

    static func isPunct(_ c: Int) -> Bool {
        (0x21...0x2F).contains(c) || (0x3A...0x40).contains(c) || (0x5B...0x60).contains(c)
            || (0x7B...0x7E).contains(c)
    }

    static func isSpace(_ c: Int) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }

    static func allowedInString(_ c: Int) -> Bool {
        isAlnum(c) || (isPunct(c) && !Array("(){}<>!=#,".utf8).contains(UInt8(c)))
    }

    static func allowedToEndNumber(_ c: Int) -> Bool {
        isSpace(c) || c == 0x29 || c == 0x2C || c == 0x2F || c == 0x7D || c == 0x3D
    }

    // MARK: tokens

    mutating func next() -> Token {
        while true {
            var c = lgetc()
            while c == 0x20 || c == 0x09 || c == 0x0D { c = lgetc() }
            let line = min(logicalLine, lastLine)

            if c == 0x23 {  // '#'
                while c != 0x0A && c != Self.eof { c = lgetc() }
            }

            if c == 0x24 && !expanding {  // '$'
                var name: [UInt8] = []
                while true {
                    let d = lgetc()
                    if Self.isAlnum(d) || d == 0x5F {
                        name.append(UInt8(d))
                        continue
                    }
                    lungetc(d)
                    break
                }
                let key = String(decoding: name, as: UTF8.self)
                guard let value = macros[key] else {
                    report("macro '\(key)' not defined", line: line)
                    return findEOL(line: line)
                }
                lungetc(Self.doneExpand)
                for b in value.utf8.reversed() { lungetc(Int(b)) }
                lungetc(Self.startExpand)
                continue
            }

            switch c {
            case 0x22, 0x27:  // '"' or '\''
                return quoted(by: c, line: line)
            case 0x0A:
                physicalLine += 1
                logicalLine = physicalLine
                return Token(kind: .newline, line: line)
            case Self.eof:
                return Token(kind: .end, line: lastLine)
            default:
                break
            }

            if c == 0x2D || (0x30...0x39).contains(c) {  // '-' or digit
                if let token = number(first: c, line: line) { return token }
                c = igetc()  // first character again, now lexed as a word
                if c == 0x2D { return Token(kind: .symbol(0x2D), line: line) }
            }

            if c == 0x3D {  // '='
                let d = lgetc()
                if d == 0x3E { return Token(kind: .arrow, line: line) }
                lungetc(d)
                return Token(kind: .symbol(0x3D), line: line)
            }

            if Self.isAlnum(c) || c == 0x3A || c == 0x5F {
                return Token(kind: .word(run(first: c)), line: line)
            }
            if c == 0x2F || c == 0x7E || c == 0x2E {  // '/', '~', '.'
                return Token(kind: .unquotedPath(run(first: c)), line: line)
            }
            return Token(kind: .symbol(UInt8(c & 0xFF)), line: line)
        }
    }

    private mutating func run(first: Int) -> String {
        var buffer = [UInt8(first)]
        while true {
            let c = lgetc()
            if c != Self.eof && Self.allowedInString(c) {
                buffer.append(UInt8(c))
                continue
            }
            lungetc(c)
            break
        }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// A NUMBER token, or nil after giving back all but the first character.
    private mutating func number(first: Int, line: Int) -> Token? {
        var digits = [UInt8(first)]
        var c = lgetc()
        while (0x30...0x39).contains(c) {
            digits.append(UInt8(c))
            c = lgetc()
        }
        lungetc(c)
        let isNumber =
            !(digits.count == 1 && first == 0x2D) && (c == Self.eof || Self.allowedToEndNumber(c))
        guard isNumber else {
            for d in digits.reversed() { lungetc(Int(d)) }
            return nil
        }
        let text = String(decoding: digits, as: UTF8.self)
        guard let value = Int64(text) else {
            report(
                "\"\(text)\" invalid number: too \(first == 0x2D ? "small" : "large")", line: line)
            return findEOL(line: line)
        }
        return Token(kind: .number(value), line: line)
    }

    private mutating func quoted(by quote: Int, line: Int) -> Token {
        var buffer: [UInt8] = []
        while true {
            var c = lgetc(quoted: true)
            if c == Self.eof {
                report("unterminated quoted string (end of file reached)", line: line)
                return Token(kind: .invalid, line: line)
            }
            if c == 0x0A {
                // As OpenSMTPD: a newline inside quotes is dropped.
                physicalLine += 1
                continue
            }
            if c == 0x5C {
                let next = lgetc(quoted: true)
                if next == Self.eof {
                    report("unterminated quoted string (end of file reached)", line: line)
                    return Token(kind: .invalid, line: line)
                }
                if next == quote || next == 0x20 || next == 0x09 {
                    c = next
                } else if next == 0x0A {
                    physicalLine += 1
                    continue
                } else {
                    lungetc(next)
                }
            } else if c == quote {
                return Token(kind: .quoted(String(decoding: buffer, as: UTF8.self)), line: line)
            } else if c == 0 {
                report("syntax error: NUL character in quoted string", line: line)
                return findEOL(line: line)
            }
            buffer.append(UInt8(c))
        }
    }
}
