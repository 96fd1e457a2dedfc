import MaildirDelivery
/// Text helpers for the inspection output: one place that decides how odd characters and
/// over-long values look on a terminal.
enum MaildirText {
    /// Control characters made visible (`\r`, `\0`, `\x1B`); tab and line feed are kept
    /// only if `keepLines`, otherwise shown too.
    static func visible(_ text: String, keepLines: Bool = false) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A where keepLines, 0x09 where keepLines: result.unicodeScalars.append(scalar)
            case 0x09: result += " "
            case 0x0A: result += "\\n"
            case 0x0D: result += "\\r"
            case 0x00: result += "\\0"
            case 0x01..<0x20, 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `text` cut or padded to exactly `width` characters (a cut ends in "…").
    static func column(_ text: String, _ width: Int) -> String {
        if text.count > width { return String(text.prefix(width - 1)) + "…" }
        return text + String(repeating: " ", count: width - text.count)
    }

    static func rightAligned(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// A JSON string literal (RFC 8259: quote, backslash and controls escaped).
    static func json(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
