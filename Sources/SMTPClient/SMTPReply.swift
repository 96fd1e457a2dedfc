/// One complete SMTP reply: a three-digit code and one or more text lines (RFC 5321 §4.2).
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The reply code, 200…599 for well-formed replies.
    public var code: Int
    /// The text of each line after the code and its separator (may be empty).
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// The enhanced status code (RFC 3463, "5.1.0") that starts the first line, if any.
    /// A colon right after it (OpenSMTPD before 6.6: `250 2.0.0: Ok`) is tolerated.
    public var enhancedCode: String? { EnhancedCode.prefix(of: lines[0])?.code }

    /// The first line's text without the enhanced code.
    public var text: String {
        guard let found = EnhancedCode.prefix(of: lines[0]) else { return lines[0] }
        return found.rest
    }

    public var isPositive: Bool { code >= 200 && code < 400 }
    public var isTransientFailure: Bool { code >= 400 && code < 500 }
    public var isPermanentFailure: Bool { code >= 500 && code < 600 }

    /// The reply as it travels: `250-first`, …, `250 last`, without line ends.
    public var wireLines: [String] {
        lines.enumerated().map { index, line in
            let separator = index == lines.count - 1 ? " " : "-"
            return line.isEmpty && index == lines.count - 1
                ? "\(code)" : "\(code)\(separator)\(line)"
        }
    }

    public var description: String { wireLines.joined(separator: "\n") }
}

/// RFC 3463 enhanced status codes: `class.subject.detail`.
public enum EnhancedCode {
    /// True for `2.1.5`, `5.7.1`, …: class 2, 4 or 5; subject and detail 1–3 digits.
    public static func isValid(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 1, "245".contains(parts[0]) else { return false }
        return parts[1...].allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }

    /// Splits `5.1.0 Sender address syntax error` into the code and the rest.
    static func prefix(of line: String) -> (code: String, rest: String)? {
        let word = line.prefix { $0 != " " }
        var candidate = word
        if candidate.hasSuffix(":") { candidate = candidate.dropLast() }
        guard isValid(candidate) else { return nil }
        return (String(candidate), String(line.dropFirst(word.count).drop { $0 == " " }))
    }
}
