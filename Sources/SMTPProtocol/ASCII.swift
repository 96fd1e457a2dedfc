/// Byte helpers for protocol text (C locale semantics, as OpenSMTPD uses).
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
    /// C `isspace` in the C locale.
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }

    /// `strcasecmp(a, b) == 0`
    static func equalsIgnoringCase<C: Collection>(_ bytes: C, _ text: String) -> Bool
    where C.Element == UInt8 {
        guard bytes.count == text.utf8.count else { return false }
        return zip(bytes, text.utf8).allSatisfy { lower($0) == lower($1) }
    }

    /// `strncasecmp(bytes, prefix, strlen(prefix)) == 0`
    static func hasPrefixIgnoringCase<C: Collection>(_ bytes: C, _ prefix: String) -> Bool
    where C.Element == UInt8 {
        guard bytes.count >= prefix.utf8.count else { return false }
        return zip(bytes, prefix.utf8).allSatisfy { lower($0) == lower($1) }
    }

    /// Text known to be ASCII (validated input, our own output).
    static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Client text echoed in a reply: anything outside printable ASCII becomes `?`, so a reply
    /// can never carry a CR, LF, NUL or 8-bit byte that came from the client.
    static func replySafe<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.map { ($0 >= 0x20 && $0 < 0x7F) ? $0 : 0x3F }, as: UTF8.self)
    }

    /// Client text in a log or trace line, escaped like OpenSMTPD's
    /// `strnvis(VIS_SAFE | VIS_CSTYLE)`: one log line stays one line.
    static func visible<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for c in bytes {
            switch c {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x00: out += Array("\\0".utf8)
            case 0x20..<0x7F: out.append(c)
            default:
                out.append(0x5C)
                out.append(0x30 + (c >> 6))
                out.append(0x30 + ((c >> 3) & 7))
                out.append(0x30 + (c & 7))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Fixed-width lowercase hex, as `%08x` / `%016llx`.
enum Hex {
    /// Written in place (ids are made several times per message; the radix-and-pad version
    /// took three allocations).
    static func string(_ value: UInt64, digits: Int) -> String {
        let significant = max(1, (64 - value.leadingZeroBitCount + 3) / 4)
        let count = max(digits, significant)
        return String(unsafeUninitializedCapacity: count) { buffer in
            var rest = value
            for index in stride(from: count - 1, through: 0, by: -1) {
                let nibble = UInt8(truncatingIfNeeded: rest & 0xF)
                buffer[index] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                rest >>= 4
            }
            return count
        }
    }
}
