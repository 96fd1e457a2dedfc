/// RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header values.
public enum EncodedWords {
    /// Decodes every encoded word in an unfolded header value. Blanks between two adjacent
    /// encoded words are dropped (RFC 2047 §6.2); adjacent words in the same charset are
    /// joined before decoding, so a UTF-8 sequence split across two words survives. A word
    /// that does not parse stays as written; 8-bit text outside words is read as UTF-8 (or
    /// windows-1252 when it is not valid UTF-8).
    public static func decode(_ value: some Collection<UInt8>) -> String {
        let bytes = Array(value)
        var output = ""
        var pending: (charset: String, bytes: [UInt8])? = nil
        var plainStart = 0
        var index = 0
        func flushPending() {
            if let word = pending { output += Charset.decode(word.bytes, charset: word.charset) }
            pending = nil
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "="), index + 1 < bytes.count,
                bytes[index + 1] == UInt8(ascii: "?"),
                let word = parseWord(bytes, at: index)
            else {
                index += 1
                continue
            }
            let between = bytes[plainStart..<index]
            let onlyBlanks = between.allSatisfy { $0 == 0x20 || $0 == 0x09 }
            if pending == nil || !onlyBlanks {
                flushPending()
                output += Charset.decodeUndeclared(between)
            }
            if let current = pending, current.charset == word.charset {
                pending = (current.charset, current.bytes + word.decoded)
            } else {
                flushPending()
                pending = (word.charset, word.decoded)
            }
            index = word.end
            plainStart = index
        }
        flushPending()
        output += Charset.decodeUndeclared(bytes[plainStart...])
        return output
    }

    /// One encoded word starting at `start` (which holds "=?"): its charset (language
    /// suffix `*lang` removed, lowercased), decoded bytes and the index after "?=".
    static func parseWord(
        _ bytes: [UInt8], at start: Int
    ) -> (charset: String, decoded: [UInt8], end: Int)? {
        let question = UInt8(ascii: "?")
        var index = start + 2
        let charsetStart = index
        while index < bytes.count && bytes[index] != question {
            if bytes[index] <= 0x20 || bytes[index] >= 0x7F { return nil }
            index += 1
        }
        guard index + 2 < bytes.count, index > charsetStart, bytes[index + 2] == question else {
            return nil
        }
        var charset = String(decoding: bytes[charsetStart..<index], as: UTF8.self).lowercased()
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }
        let encoding = bytes[index + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        index += 3
        let textStart = index
        while index < bytes.count && bytes[index] != question {
            if bytes[index] <= 0x20 || bytes[index] >= 0x7F { return nil }
            index += 1
        }
        guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "=") else { return nil }
        let text = Array(bytes[textStart..<index])
        let decoded =
            encoding == UInt8(ascii: "b")
            ? TransferEncoding.decodeBase64(text)
            : TransferEncoding.decodeQuotedPrintable(
                text.map { $0 == UInt8(ascii: "_") ? 0x20 : $0 })
        return (charset, decoded, index + 2)
    }
}
