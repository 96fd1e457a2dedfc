import Glibc

/// What a chat script expects of one reply: a code (digits or `x` wildcards, `2xx`), an
/// optional enhanced code (`5.1.0`, wildcards allowed: `5.x.x`) and an optional text pattern.
/// The pattern is a glob (fnmatch(3): `*`, `?`, `[…]`, `\` escapes) matched against the text of
/// each reply line after the code and its enhanced code; it holds if any line matches.
public struct ReplyExpectation: Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var enhancedCode: String?
    public var pattern: String?

    public init(code: String, enhancedCode: String? = nil, pattern: String? = nil) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.pattern = pattern
    }

    /// Parses `550 5.7.1 Delivery not authorized*` (the words after `expect`).
    public init?(parsing text: Substring) {
        let words = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let first = words.first, Self.isCodePattern(first) else { return nil }
        code = String(first).lowercased()
        var rest = words.count > 1 ? words[1].drop { $0 == " " } : ""
        let second = rest.prefix { $0 != " " }
        if Self.isEnhancedPattern(second) {
            enhancedCode = String(second).lowercased()
            rest = rest.dropFirst(second.count).drop { $0 == " " }
        }
        pattern = rest.isEmpty ? nil : String(rest)
    }

    /// Why `reply` does not meet the expectation, or nil when it does.
    public func mismatch(_ reply: SMTPReply) -> String? {
        if !Self.matches(pattern: code, String(reply.code)) { return "code" }
        if let enhancedCode {
            guard let got = reply.enhancedCode,
                Self.matches(pattern: enhancedCode, got)
            else { return "enhanced status code" }
        }
        if let pattern {
            let texts = reply.lines.map { EnhancedCode.prefix(of: $0)?.rest ?? $0 }
            guard texts.contains(where: { fnmatch(pattern, $0, 0) == 0 }) else { return "text" }
        }
        return nil
    }

    public var description: String {
        [code, enhancedCode, pattern].compactMap { $0 }.joined(separator: " ")
    }

    static func isCodePattern(_ word: Substring) -> Bool {
        word.count == 3 && word.first.map { "2345xX".contains($0) } == true
            && word.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "x" || $0 == "X") }
    }

    static func isEnhancedPattern(_ word: Substring) -> Bool {
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 1, "245xX".contains(parts[0]) else {
            return false
        }
        return parts[1...].allSatisfy { part in
            (1...3).contains(part.count)
                && part.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "x" || $0 == "X") }
        }
    }

    /// Digit-for-digit match where `x` stands for any run of digits of the same position
    /// (`5.x.x` matches `5.7.1` and `5.7.10`).
    static func matches(pattern: String, _ value: String) -> Bool {
        let patternParts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let valueParts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard patternParts.count == valueParts.count else { return false }
        for (want, got) in zip(patternParts, valueParts) {
            if patternParts.count == 3 && want == "x" { continue }
            guard want.count == got.count else { return false }
            for (w, g) in zip(want, got) where w != "x" && w != g { return false }
        }
        return true
    }
}
