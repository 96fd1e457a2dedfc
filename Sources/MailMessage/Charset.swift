/// Text in a named charset, turned into a Swift string. Pure table work, no iconv: the
/// charsets mail in exercises uses (UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15, windows-1252).
public enum Charset {
    /// Decodes `bytes` in `charset` (case-insensitive MIME name). An unknown or missing
    /// charset, and US-ASCII carrying 8-bit bytes, is read as UTF-8 when the bytes are valid
    /// UTF-8 and as windows-1252 otherwise, which is what mail readers do with undeclared
    /// 8-bit text. Invalid UTF-8 in a declared UTF-8 part becomes U+FFFD.
    public static func decode(_ bytes: some Collection<UInt8>, charset: String?) -> String {
        switch charset.map(normalized) {
        case "utf-8", "utf8":
            return String(decoding: bytes, as: UTF8.self)
        case "iso-8859-1", "iso8859-1", "latin1", "l1", "iso_8859-1", "iso-ir-100", "cp819":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case "iso-8859-15", "iso8859-15", "latin-9", "latin9":
            return String(String.UnicodeScalarView(bytes.map(latin9)))
        case "windows-1252", "cp1252", "win-1252":
            return String(String.UnicodeScalarView(bytes.map(windows1252)))
        default:
            return decodeUndeclared(bytes)
        }
    }

    /// True for the charsets ``decode(_:charset:)`` knows by name.
    public static func isKnown(_ charset: String) -> Bool {
        [
            "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "l1",
            "iso_8859-1", "iso-ir-100", "cp819", "iso-8859-15", "iso8859-15", "latin-9",
            "latin9", "windows-1252", "cp1252", "win-1252",
        ].contains(normalized(charset))
    }

    /// Bytes without a declared charset (8-bit headers, a text part without `charset=`).
    public static func decodeUndeclared(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map(windows1252)))
    }

    static func normalized(_ charset: String) -> String {
        var name = charset.lowercased()
        while name.hasPrefix("\"") || name.hasPrefix(" ") { name.removeFirst() }
        while name.hasSuffix("\"") || name.hasSuffix(" ") { name.removeLast() }
        return name
    }

    /// windows-1252: ISO-8859-1 with printable characters in 0x80–0x9F (five are undefined
    /// and stay C1 controls, as in the WHATWG mapping).
    static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
        guard (0x80...0x9F).contains(byte) else { return Unicode.Scalar(byte) }
        let table: [UInt32] = [
            0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
            0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
            0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
            0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
        ]
        return Unicode.Scalar(table[Int(byte - 0x80)])!
    }

    /// ISO-8859-15 differs from ISO-8859-1 in eight places (€, Š, š, Ž, ž, Œ, œ, Ÿ).
    static func latin9(_ byte: UInt8) -> Unicode.Scalar {
        let value: UInt32 =
            switch byte {
            case 0xA4: 0x20AC
            case 0xA6: 0x0160
            case 0xA8: 0x0161
            case 0xB4: 0x017D
            case 0xB8: 0x017E
            case 0xBC: 0x0152
            case 0xBD: 0x0153
            case 0xBE: 0x0178
            default: UInt32(byte)
            }
        return Unicode.Scalar(value)!
    }
}
