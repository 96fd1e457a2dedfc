/// A structured MIME header value: `token; key=value; key="quoted"` (Content-Type,
/// Content-Disposition), with RFC 2231 extended and continued parameters.
public struct HeaderParameters: Sendable, Hashable {
    /// The part before the first `;`, lowercased and trimmed ("text/plain", "attachment").
    public var value: String
    /// Parameters by lowercased name, values unquoted and decoded.
    public var parameters: [String: String]

    public init(parsing text: String) {
        let pieces = Self.split(text)
        value = (pieces.first ?? "").trimmingBlanks().lowercased()
        var plain: [String: String] = [:]
        // RFC 2231 §3: name*0, name*1*, …: (index, extended?, text)
        var sections: [String: [(Int, Bool, String)]] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let key = piece[..<equals].trimmingBlanks().lowercased()
            let raw = piece[piece.index(after: equals)...].trimmingBlanks()
            guard !key.isEmpty else { continue }
            let unquoted = Self.unquote(raw)
            var name = key
            let extended = name.hasSuffix("*")
            if extended { name.removeLast() }
            if let star = name.lastIndex(of: "*"), let index = Int(name[name.index(after: star)...])
            {
                sections[String(name[..<star]), default: []].append((index, extended, unquoted))
            } else if extended {
                sections[name, default: []].append((0, true, unquoted))
            } else {
                plain[name] = unquoted
            }
        }
        for (name, parts) in sections {
            let ordered = parts.sorted { $0.0 < $1.0 }
            var charset: String? = nil
            var bytes: [UInt8] = []
            for (number, part) in ordered.enumerated() {
                guard part.1 else {
                    bytes += Array(part.2.utf8)
                    continue
                }
                var text = Substring(part.2)
                if number == 0 {
                    // charset'language'value
                    let quotes = text.split(
                        separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                    if quotes.count == 3 {
                        charset = String(quotes[0])
                        text = quotes[2]
                    }
                }
                bytes += Self.percentDecode(text)
            }
            plain[name] = Charset.decode(bytes, charset: charset?.isEmpty == false ? charset : nil)
        }
        parameters = plain
    }

    public subscript(_ name: String) -> String? { parameters[name.lowercased()] }

    /// Splits at `;` outside quoted strings and comments.
    static func split(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var inQuotes = false
        var escaped = false
        var commentDepth = 0
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            switch character {
            case "\\" where inQuotes:
                escaped = true
                current.append(character)
            case "\"" where commentDepth == 0:
                inQuotes.toggle()
                current.append(character)
            case "(" where !inQuotes:
                commentDepth += 1
            case ")" where !inQuotes && commentDepth > 0:
                commentDepth -= 1
            case ";" where !inQuotes && commentDepth == 0:
                pieces.append(current)
                current = ""
            default:
                if commentDepth == 0 { current.append(character) }
            }
        }
        pieces.append(current)
        return pieces
    }

    static func unquote(_ text: String) -> String {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else { return text }
        var result = ""
        var escaped = false
        for character in text.dropFirst().dropLast() {
            if !escaped && character == "\\" {
                escaped = true
                continue
            }
            escaped = false
            result.append(character)
        }
        return result
    }

    static func percentDecode(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = TransferEncoding.hexValue(bytes[index + 1]),
                let low = TransferEncoding.hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
