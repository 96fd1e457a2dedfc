/// A domain name as a list of labels (RFC 1035 §3.1), compared without regard to ASCII case
/// (RFC 4343). The root is the empty list; text form is dotted, the root is `.`.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// The labels, leftmost first, as bytes (a label may hold any octet).
    public private(set) var labels: [[UInt8]]

    /// RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 on the wire.
    public static let maximumLabelLength = 63
    public static let maximumWireLength = 255

    public static let root = DNSName(validatedLabels: [])

    init(validatedLabels: [[UInt8]]) { labels = validatedLabels }

    /// Parses `mail.example.org` or `mail.example.org.` (the trailing dot is optional: every
    /// name here is absolute); `.` is the root. Nil for an empty label, a label over 63
    /// bytes, or a name over 255 bytes on the wire.
    public init?(_ text: String) {
        if text == "." {
            labels = []
            return
        }
        var body = Substring(text)
        if body.hasSuffix(".") { body.removeLast() }
        guard !body.isEmpty else { return nil }
        var labels: [[UInt8]] = []
        for part in body.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard !bytes.isEmpty, bytes.count <= Self.maximumLabelLength else { return nil }
            labels.append(bytes)
        }
        guard Self.wireLength(of: labels) <= Self.maximumWireLength else { return nil }
        self.labels = labels
    }

    /// Bytes on the wire without compression: a length octet per label, the label, and the
    /// root's zero octet.
    static func wireLength(of labels: [[UInt8]]) -> Int {
        labels.reduce(1) { $0 + 1 + $1.count }
    }

    public var isRoot: Bool { labels.isEmpty }

    /// Dotted text without the trailing dot (`.` for the root); dots and bytes outside
    /// printable ASCII inside a label are escaped as RFC 1035 §5.1 master files do (`\.`,
    /// `\DDD`).
    public var description: String {
        if labels.isEmpty { return "." }
        return labels.map { label in
            var text = ""
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E: text.append(Character(UnicodeScalar(byte)))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return text
        }.joined(separator: ".")
    }

    /// The name with every ASCII letter in lower case: the form names are compared in.
    public var lowercased: DNSName {
        DNSName(
            validatedLabels: labels.map { label in
                label.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            })
    }

    public static func == (a: DNSName, b: DNSName) -> Bool {
        a.lowercased.labels == b.lowercased.labels
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(lowercased.labels) }
}
