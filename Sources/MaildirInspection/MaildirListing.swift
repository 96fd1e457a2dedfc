import Glibc
import LinuxSystem
import MailMessage
import MaildirDelivery

/// One message as `mlab maildir ls` shows it.
public struct MaildirListEntry: Sendable, Hashable {
    public var message: MaildirMessage
    /// From the Date header, else the delivery time in the file name (else its mtime): never
    /// the reader's clock or time zone.
    public var date: Int64
    /// Decoded From and Subject (empty when missing).
    public var from: String
    public var subject: String

    /// The display name of the first From address, or the address itself (what mail readers
    /// such as mblaze's mscan show in a sender column).
    public var sender: String {
        guard let open = from.firstIndex(of: "<") else {
            return from.strippingBlanks()
        }
        var name = from[..<open].strippingBlanks()
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
            name = String(name.dropFirst().dropLast())
        }
        if !name.isEmpty { return name }
        let rest = from[from.index(after: open)...]
        return String(rest.prefix(while: { $0 != ">" }))
    }

    /// `cur/NAME`: the file relative to the Maildir root.
    public var file: String { message.folder.rawValue + "/" + message.name }

    public init(message: MaildirMessage, bytes: [UInt8]) {
        let parsed = MailMessage(bytes: bytes)
        self.message = message
        date = parsed.date ?? message.deliveryTime
        from = parsed.from
        subject = parsed.subject
    }
}

extension Maildir {
    /// The messages of `folders`, newest last (the order of ``messages()``), with their
    /// headers read. A message that vanishes meanwhile is left out.
    public func list(
        folders: Set<MaildirFolder> = Set(MaildirFolder.allCases)
    ) throws(SystemError) -> [MaildirListEntry] {
        var entries: [MaildirListEntry] = []
        for message in try messages() where folders.contains(message.folder) {
            let bytes: [UInt8]
            do {
                bytes = try read(message)
            } catch  where error.errno == ENOENT {
                continue
            }
            entries.append(MaildirListEntry(message: message, bytes: bytes))
        }
        return entries
    }
}

/// The two output forms of `mlab maildir ls`.
public enum MaildirListFormat {
    static let fromWidth = 22
    static let subjectWidth = 36

    /// One line per message: `DATE  SENDER  SUBJECT  SIZE  FLAGS  FILE` (date in UTC, sender
    /// and subject cut to fixed widths, `-` for no flags).
    public static func text(_ entries: [MaildirListEntry]) -> String {
        var output = ""
        for entry in entries {
            let columns = [
                MailDate.shortUTC(entry.date),
                MaildirText.column(MaildirText.visible(entry.sender), fromWidth),
                MaildirText.column(MaildirText.visible(entry.subject), subjectWidth),
                MaildirText.rightAligned("\(entry.message.size)", 7),
                MaildirText.column(entry.message.flags.isEmpty ? "-" : entry.message.flags, 5),
                entry.file,
            ]
            output += columns.joined(separator: "  ") + "\n"
        }
        return output
    }

    /// A JSON array, one object per line: file, folder, name, date (RFC 3339 UTC), from,
    /// subject, size, flags.
    public static func json(_ entries: [MaildirListEntry]) -> String {
        guard !entries.isEmpty else { return "[]\n" }
        let objects = entries.map { entry in
            let fields = [
                ("file", MaildirText.json(entry.file)),
                ("folder", MaildirText.json(entry.message.folder.rawValue)),
                ("name", MaildirText.json(entry.message.name)),
                ("date", MaildirText.json(MailDate.iso8601(entry.date))),
                ("from", MaildirText.json(entry.from)),
                ("subject", MaildirText.json(entry.subject)),
                ("size", "\(entry.message.size)"),
                ("flags", MaildirText.json(entry.message.flags)),
            ]
            return "  {" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func strippingBlanks() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
