/// One MIME entity: the whole message or a part of a multipart, with its sub-parts.
public struct MIMEPart: Sendable, Hashable {
    /// Nesting deeper than this is listed as one opaque part (a guard against hostile mail).
    public static let maximumDepth = 20

    public var header: HeaderSection
    /// "type/subtype", lowercased; `text/plain` when the field is missing or unusable.
    public var contentType: String
    /// Content-Type parameters (charset, boundary, name, …).
    public var contentTypeParameters: [String: String]
    /// Lowercased Content-Transfer-Encoding, `7bit` by default.
    public var transferEncoding: String
    /// Lowercased Content-Disposition value ("attachment", "inline"), if any.
    public var disposition: String?
    /// The file name: Content-Disposition `filename`, else Content-Type `name`; decoded.
    public var fileName: String?
    /// The body as stored (still transfer-encoded).
    public var body: [UInt8]
    /// The parts of a multipart, in order.
    public var parts: [MIMEPart]
    /// For a multipart: whether the closing `--boundary--` line was found. False means the
    /// message is probably truncated.
    public var isClosed: Bool
    /// How the header section of this entity ended.
    public var headerEnd: HeaderEnd

    public var isMultipart: Bool { contentType.hasPrefix("multipart/") }

    /// The body with the transfer encoding undone.
    public var decodedBody: [UInt8] {
        TransferEncoding.decode(body, encoding: transferEncoding)
    }

    /// The decoded body as text, in the declared charset, for `text/*` parts; nil otherwise.
    public var text: String? {
        guard contentType.hasPrefix("text/") else { return nil }
        return Charset.decode(decodedBody, charset: contentTypeParameters["charset"])
    }

    init(bytes: [UInt8], range: Range<Int>, depth: Int = 0) {
        let entity = Entity(bytes, range: range)
        header = entity.header
        headerEnd = entity.end
        let type = HeaderParameters(parsing: entity.header.first("Content-Type")?.plainValue ?? "")
        if type.value.split(separator: "/").count == 2 {
            contentType = type.value
            contentTypeParameters = type.parameters
        } else {
            contentType = "text/plain"
            contentTypeParameters = type.value.isEmpty ? [:] : type.parameters
        }
        transferEncoding =
            entity.header.first("Content-Transfer-Encoding")?.plainValue.trimmingBlanks()
            .lowercased() ?? "7bit"
        let disposition = entity.header.first("Content-Disposition").map {
            HeaderParameters(parsing: $0.plainValue)
        }
        self.disposition = disposition.map(\.value)
        let name = disposition?["filename"] ?? type["name"]
        fileName = name.map { EncodedWords.decode(Array($0.utf8)) }
        body = Array(bytes[entity.bodyRange])
        parts = []
        isClosed = true
        if contentType.hasPrefix("multipart/"), depth < Self.maximumDepth,
            let boundary = contentTypeParameters["boundary"], !boundary.isEmpty
        {
            let split = Self.splitMultipart(bytes, range: entity.bodyRange, boundary: boundary)
            parts = split.parts.map { MIMEPart(bytes: bytes, range: $0, depth: depth + 1) }
            isClosed = split.closed
        }
    }

    /// RFC 2046 §5.1.1: a delimiter is a line `--boundary` (blanks may follow); the line
    /// end before it belongs to the delimiter. `--boundary--` closes.
    static func splitMultipart(
        _ bytes: [UInt8], range: Range<Int>, boundary: String
    ) -> (parts: [Range<Int>], closed: Bool) {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [Range<Int>] = []
        var partStart: Int? = nil
        var lineStart = range.lowerBound
        while lineStart < range.upperBound {
            let newline = bytes[lineStart..<range.upperBound].firstIndex(of: 0x0A)
            let next = newline.map { $0 + 1 } ?? range.upperBound
            let line = bytes[lineStart..<(newline ?? range.upperBound)]
            if line.starts(with: delimiter) {
                var rest = line.dropFirst(delimiter.count)
                let closing = rest.starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")])
                if closing { rest = rest.dropFirst(2) }
                if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    if let start = partStart {
                        var end = lineStart
                        if end > start && bytes[end - 1] == 0x0A { end -= 1 }
                        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                        parts.append(start..<max(start, end))
                    }
                    if closing { return (parts, true) }
                    partStart = next
                }
            }
            lineStart = next
        }
        if let start = partStart { parts.append(start..<range.upperBound) }
        return (parts, false)
    }
}
