/// A stored mail message (RFC 5322 + MIME), parsed for reading. Pure: bytes in, no I/O.
/// Line ends may be CRLF or LF. Nothing here fails: broken mail is read as far as it goes,
/// and what was odd is visible in ``headerEnd`` and ``MIMEPart/isClosed``.
public struct MailMessage: Sendable {
    public let bytes: [UInt8]
    /// The top-level entity; for a multipart message its ``MIMEPart/parts`` hold the parts.
    public let root: MIMEPart
    /// The stored header section, including the blank line that ends it (if any).
    public let headerBytes: ArraySlice<UInt8>

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        root = MIMEPart(bytes: bytes, range: bytes.indices)
        let entity = Entity(bytes, range: bytes.indices)
        headerBytes = bytes[..<entity.bodyRange.lowerBound]
    }

    public var header: HeaderSection { root.header }
    public var headerEnd: HeaderEnd { root.headerEnd }

    /// Decoded Subject, empty when missing.
    public var subject: String { header["Subject"] ?? "" }
    /// Decoded From, empty when missing.
    public var from: String { header["From"] ?? "" }
    /// The Date header as seconds since the epoch, nil when missing or unreadable.
    public var date: Int64? { header["Date"].flatMap(MailDate.parse) }

    /// Every entity depth-first with its IMAP-style number ("1", "2.1"), multiparts
    /// included. A single-part message is part "1".
    public var partList: [(number: String, depth: Int, part: MIMEPart)] {
        var list: [(String, Int, MIMEPart)] = []
        func walk(_ part: MIMEPart, number: String, depth: Int) {
            list.append((number, depth, part))
            for (index, child) in part.parts.enumerated() {
                let childNumber = depth == 0 ? "\(index + 1)" : "\(number).\(index + 1)"
                walk(child, number: childNumber, depth: depth + 1)
            }
        }
        walk(root, number: root.isMultipart ? "" : "1", depth: 0)
        return list
    }

    /// The part a reader shows as the message text: the first `text/plain` that is not an
    /// attachment, else the first such `text/html`, else nil.
    public var textPart: MIMEPart? {
        let leaves = partList.map(\.part).filter {
            !$0.isMultipart && $0.disposition != "attachment"
        }
        return leaves.first { $0.contentType == "text/plain" }
            ?? leaves.first { $0.contentType == "text/html" }
    }
}
