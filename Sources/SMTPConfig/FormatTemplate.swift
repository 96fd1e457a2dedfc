/// A string with `%{…}` format specifiers: a maildir path, an mda command or wrapper
/// (reference §1.6; OpenSMTPD `mda_expand_format`/`mda_expand_token` in mda_variables.c).
///
/// `%{rcpt.user}`, `%{user.directory}`… optionally followed by a substring `[n]`, `[n:]`,
/// `[:m]`, `[n:m]` (inclusive, negative counts from the end) and modifiers
/// `:lowercase|uppercase|strip|raw`. `%%` is a literal `%`; a leading `~/` is the user's
/// home directory. Unlike OpenSMTPD, which fails only at delivery, MailLab checks templates
/// when the configuration is parsed.
public struct FormatTemplate: Sendable, Hashable {
    public enum Variable: String, Sendable, Hashable, CaseIterable {
        case sender
        case senderUser = "sender.user"
        case senderDomain = "sender.domain"
        case rcpt
        case rcptUser = "rcpt.user"
        case rcptDomain = "rcpt.domain"
        case dest
        case destUser = "dest.user"
        case destDomain = "dest.domain"
        case userName = "user.username"
        case userDirectory = "user.directory"
        case mboxFrom = "mbox.from"
        case mda
    }

    public enum Modifier: String, Sendable, Hashable {
        case lowercase, uppercase, strip, raw
    }

    public struct Token: Sendable, Hashable {
        public var variable: Variable
        /// Substring start (negative: from the end); 0 by default.
        public var begin: Int
        /// Inclusive substring end (negative: from the end); nil = to the end.
        public var end: Int?
        public var modifiers: [Modifier]
    }

    public enum Part: Sendable, Hashable {
        case literal(String)
        case token(Token)
        /// A leading `~/`: the user's home directory and a slash.
        case homeDirectory
    }

    public var parts: [Part]

    /// What a template is expanded with.
    public struct Values: Sendable {
        public var sender: (user: String, domain: String)
        public var rcpt: (user: String, domain: String)
        /// The recipient after alias/virtual expansion.
        public var dest: (user: String, domain: String)
        public var userName: String
        public var userDirectory: String
        public var mdaCommand: String
        public var subaddressDelimiter: String

        public init(
            sender: (user: String, domain: String), rcpt: (user: String, domain: String),
            dest: (user: String, domain: String)? = nil, userName: String,
            userDirectory: String, mdaCommand: String = "", subaddressDelimiter: String = "+"
        ) {
            self.sender = sender
            self.rcpt = rcpt
            self.dest = dest ?? rcpt
            self.userName = userName
            self.userDirectory = userDirectory
            self.mdaCommand = mdaCommand
            self.subaddressDelimiter = subaddressDelimiter
        }
    }

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Characters of expanded values replaced by `:` unless `raw` (6.8 `MAILADDR_ESCAPE`).
    static let escaped = Set("!#$%&'*?`{|}~".utf8)
    static let maxTokenLength = 128
    static let maxOffset = 4096  // EXPAND_BUFFER

    public init(_ text: String) throws(ParseError) {
        var parts: [Part] = []
        var bytes = Substring(text).utf8[...]
        if bytes.starts(with: "~/".utf8) {
            parts.append(.homeDirectory)
            bytes = bytes.dropFirst(2)
        }
        var literal: [UInt8] = []
        while let c = bytes.first {
            let next = bytes.dropFirst().first
            if c == UInt8(ascii: "%") && next == UInt8(ascii: "%") {
                literal.append(c)
                bytes = bytes.dropFirst(2)
            } else if c == UInt8(ascii: "%") && next == UInt8(ascii: "{") {
                let rest = bytes.dropFirst(2)
                guard let close = rest.firstIndex(of: UInt8(ascii: "}")) else {
                    throw ParseError(description: "unterminated %{ in \"\(text)\"")
                }
                let body = String(decoding: rest[..<close], as: UTF8.self)
                if !literal.isEmpty {
                    parts.append(.literal(String(decoding: literal, as: UTF8.self)))
                    literal = []
                }
                parts.append(.token(try Self.token(body)))
                bytes = rest[rest.index(after: close)...]
            } else {
                literal.append(c)
                bytes = bytes.dropFirst()
            }
        }
        if !literal.isEmpty { parts.append(.literal(String(decoding: literal, as: UTF8.self))) }
        self.parts = parts
    }

    private static func token(_ body: String) throws(ParseError) -> Token {
        guard body.utf8.count < maxTokenLength else {
            throw ParseError(description: "format specifier too long: %{\(body)}")
        }
        var name = Substring(body)
        var modifiers: Substring?
        var begin = 0
        var end: Int?
        if let open = name.firstIndex(of: "["), let close = name.firstIndex(of: "]") {
            guard open < close, name.distance(from: open, to: close) > 1 else {
                throw ParseError(description: "invalid substring in %{\(body)}")
            }
            let range = name[name.index(after: open)..<close]
            let after = name[name.index(after: close)...]
            if let colon = after.firstIndex(of: ":") {
                modifiers = after[after.index(after: colon)...]
            }
            if let colon = range.firstIndex(of: ":") {
                let first = range[..<colon]
                let second = range[range.index(after: colon)...]
                if !first.isEmpty { begin = try offset(first, body) }
                if !second.isEmpty { end = try offset(second, body) }
            } else {
                begin = try offset(range, body)
                end = begin
            }
            name = name[..<open]
        } else if let colon = name.firstIndex(of: ":") {
            modifiers = name[name.index(after: colon)...]
            name = name[..<colon]
        }
        guard let variable = Variable(rawValue: name.lowercased()) else {
            throw ParseError(description: "unknown format specifier %{\(body)}")
        }
        var parsed: [Modifier] = []
        if let modifiers {
            for m in modifiers.split(separator: "|", omittingEmptySubsequences: false) {
                guard let modifier = Modifier(rawValue: m.lowercased()) else {
                    throw ParseError(description: "unknown modifier \"\(m)\" in %{\(body)}")
                }
                parsed.append(modifier)
            }
        }
        return Token(variable: variable, begin: begin, end: end, modifiers: parsed)
    }

    private static func offset(_ text: Substring, _ body: String) throws(ParseError) -> Int {
        guard let n = Int(text), (-maxOffset...maxOffset).contains(n) else {
            throw ParseError(description: "invalid substring offset \"\(text)\" in %{\(body)}")
        }
        return n
    }

    /// The expanded string, or nil where OpenSMTPD's expansion fails (substring start past
    /// the end of the value, empty range): the delivery then fails temporarily.
    public func expand(_ values: Values) -> String? {
        var out: [UInt8] = []
        for part in parts {
            switch part {
            case .literal(let s): out += s.utf8
            case .homeDirectory: out += values.userDirectory.utf8 + [UInt8(ascii: "/")]
            case .token(let token):
                guard let expanded = Self.expand(token, values) else { return nil }
                out += expanded
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func expand(_ token: Token, _ v: Values) -> [UInt8]? {
        func address(_ a: (user: String, domain: String), empty: String) -> String {
            a.user.isEmpty && a.domain.isEmpty ? empty : a.user + "@" + a.domain
        }
        var replace = true
        let value: String
        switch token.variable {
        case .sender: value = address(v.sender, empty: "")
        case .senderUser: value = v.sender.user
        case .senderDomain: value = v.sender.domain
        case .rcpt: value = address(v.rcpt, empty: "")
        case .rcptUser: value = v.rcpt.user
        case .rcptDomain: value = v.rcpt.domain
        case .dest: value = address(v.dest, empty: "")
        case .destUser: value = v.dest.user
        case .destDomain: value = v.dest.domain
        case .userName: value = v.userName
        case .userDirectory:
            value = v.userDirectory
            replace = false
        case .mboxFrom: value = address(v.sender, empty: "MAILER-DAEMON")
        case .mda:
            value = v.mdaCommand
            replace = false
        }
        var bytes = Array(value.utf8)
        var raw = false
        for modifier in token.modifiers {
            switch modifier {
            case .lowercase: bytes = Array(String(decoding: bytes, as: UTF8.self).lowercased().utf8)
            case .uppercase: bytes = Array(String(decoding: bytes, as: UTF8.self).uppercased().utf8)
            case .raw: raw = true
            case .strip:
                // user+tag@domain → user@domain, user+tag → user
                if let delimiter = v.subaddressDelimiter.utf8.first,
                    let tag = bytes.firstIndex(of: delimiter)
                {
                    let at = bytes[tag...].firstIndex(of: UInt8(ascii: "@")) ?? bytes.endIndex
                    bytes.removeSubrange(tag..<at)
                }
            }
        }
        if replace && !raw {
            bytes = bytes.map { escaped.contains($0) ? UInt8(ascii: ":") : $0 }
        }
        let count = bytes.count
        if count == 0 { return [] }
        var begin = token.begin
        var end = token.end ?? maxOffset
        if begin >= count { return nil }
        if end >= count { end = count - 1 }
        if begin < 0 { begin += count }
        if end < 0 { end += count - 1 }
        guard begin >= 0, end >= 0, end >= begin else { return nil }
        return Array(bytes[begin...end])
    }
}
