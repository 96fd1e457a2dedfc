/// Content-Transfer-Encoding decoders (RFC 2045 §6). Both are lenient, like mail readers:
/// what cannot be decoded is kept (quoted-printable) or skipped (base64), never an error.
public enum TransferEncoding {
    /// Decodes `bytes` for the given Content-Transfer-Encoding (case-insensitive);
    /// 7bit, 8bit, binary and unknown encodings are returned unchanged.
    public static func decode(_ bytes: [UInt8], encoding: String?) -> [UInt8] {
        switch encoding?.lowercased() {
        case "quoted-printable": decodeQuotedPrintable(bytes)
        case "base64": decodeBase64(bytes)
        default: bytes
        }
    }

    /// RFC 2045 §6.7: `=XX` is a byte, `=` at the end of a line a soft line break (CRLF or
    /// LF); a malformed `=` stays as it is.
    public static func decodeQuotedPrintable(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "=") else {
                output.append(byte)
                index += 1
                continue
            }
            // Soft line break: "=" then optional trailing blanks then CRLF or LF.
            var after = index + 1
            while after < bytes.count && (bytes[after] == 0x20 || bytes[after] == 0x09) {
                after += 1
            }
            if after < bytes.count && bytes[after] == 0x0A {
                index = after + 1
                continue
            }
            if after + 1 < bytes.count && bytes[after] == 0x0D && bytes[after + 1] == 0x0A {
                index = after + 2
                continue
            }
            if index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                let low = hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
                continue
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    /// RFC 2045 §6.8: characters outside the alphabet (line ends) are skipped; decoding
    /// stops at the first `=`.
    public static func decodeBase64(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in bytes {
            if byte == UInt8(ascii: "=") { break }
            guard let value = base64Value(byte) else { continue }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    static func base64Value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
