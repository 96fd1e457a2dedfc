/// Base64 (RFC 4648 §4) as AUTH exchanges it (RFC 4954 §4): strict, so that a malformed
/// response is a syntax error rather than a guess.
public enum Base64 {
    /// The decoded bytes, or nil for anything that is not canonical base64: a length that is
    /// not a multiple of 4, a byte outside the alphabet (white space included), `=` anywhere
    /// but at the end, or more than `limit` decoded bytes. The empty string decodes to
    /// nothing (RFC 4954 sends an empty response as `=` in an initial response only).
    /// OpenSMTPD: `base64_decode` (`__b64_pton`).
    static func decode(_ text: some Collection<UInt8>, limit: Int) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        guard input.count / 4 * 3 <= limit + 2 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            var values: [UInt8] = []
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                if byte == UInt8(ascii: "=") {
                    // Padding only in the last group, only in its last two places, and
                    // nothing but padding after it.
                    guard isLast, offset >= 2 else { return nil }
                    padding += 1
                    continue
                }
                guard padding == 0, let value = sextet(byte) else { return nil }
                values.append(value)
            }
            output.append(values[0] << 2 | values[1] >> 4)
            if values.count > 2 { output.append(values[1] << 4 | values[2] >> 2) }
            if values.count > 3 { output.append(values[2] << 6 | values[3]) }
            // Canonical form: the bits the padding drops are zero (RFC 4648 §3.5).
            if values.count == 2 && values[1] & 0x0F != 0 { return nil }
            if values.count == 3 && values[2] & 0x03 != 0 { return nil }
            index += 4
        }
        return output.count <= limit ? output : nil
    }

    /// For the replies and the client side (`mlab send --auth`, chat scripts).
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let alphabet = Array(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let input = Array(bytes)
        var output: [UInt8] = []
        var index = 0
        while index < input.count {
            let a = input[index]
            let b = index + 1 < input.count ? input[index + 1] : 0
            let c = index + 2 < input.count ? input[index + 2] : 0
            output.append(alphabet[Int(a >> 2)])
            output.append(alphabet[Int((a & 0x03) << 4 | b >> 4)])
            output.append(
                index + 1 < input.count
                    ? alphabet[Int((b & 0x0F) << 2 | c >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < input.count ? alphabet[Int(c & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
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
