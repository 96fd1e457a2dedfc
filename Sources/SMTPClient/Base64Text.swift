/// Base64 (RFC 4648 §4) for AUTH responses.
enum Base64Text {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let a = bytes[index]
            let b = index + 1 < bytes.count ? bytes[index + 1] : 0
            let c = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(a >> 2)])
            output.append(alphabet[Int((a & 0x03) << 4 | b >> 4)])
            output.append(
                index + 1 < bytes.count ? alphabet[Int((b & 0x0F) << 2 | c >> 6)] : 61)
            output.append(index + 2 < bytes.count ? alphabet[Int(c & 0x3F)] : 61)
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
