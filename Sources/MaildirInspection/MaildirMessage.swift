import MaildirDelivery
/// The folder a message sits in: `new/` (not yet seen by a mail reader) or `cur/`.
public enum MaildirFolder: String, Sendable, CaseIterable, Comparable {
    case new, cur

    public static func < (lhs: MaildirFolder, rhs: MaildirFolder) -> Bool {
        lhs == .new && rhs == .cur
    }
}

/// One message file of a Maildir, as listed by ``Maildir/messages()``.
public struct MaildirMessage: Sendable, Hashable {
    /// The file name, e.g. `1700000000.M12P34Q5.host:2,S`.
    public var name: String
    public var folder: MaildirFolder
    public var path: String
    public var size: Int64
    /// Modification time, seconds since the epoch (and the nanoseconds within that second).
    public var mtime: Int64
    public var mtimeNanoseconds: Int
    /// Everything after the first `:` of the name (`2,S`), empty without one.
    public var info: String
    /// The flag letters of a `:2,FLAGS` info (`S`, `RS`, …), empty otherwise.
    public var flags: String

    /// The name without its info: what stays the same when a reader moves the message from
    /// `new/` to `cur/` and changes its flags.
    public var uniqueName: String {
        name.firstIndex(of: ":").map { String(name[..<$0]) } ?? name
    }

    /// Delivery time from the leading `<seconds>.` of the name (the Maildir convention),
    /// or the mtime when the name does not start that way.
    public var deliveryTime: Int64 {
        let digits = name.prefix(while: { $0.isASCII && $0.isNumber })
        if !digits.isEmpty, name.dropFirst(digits.count).first == ".", let seconds = Int64(digits) {
            return seconds
        }
        return mtime
    }

    public init(
        name: String, folder: MaildirFolder, path: String, size: Int64, mtime: Int64,
        mtimeNanoseconds: Int = 0
    ) {
        self.name = name
        self.folder = folder
        self.path = path
        self.size = size
        self.mtime = mtime
        self.mtimeNanoseconds = mtimeNanoseconds
        let (info, flags) = Self.parseInfo(name)
        self.info = info
        self.flags = flags
    }

    /// Splits `unique:2,FLAGS` into info ("2,FLAGS") and flags ("FLAGS").
    static func parseInfo(_ name: String) -> (info: String, flags: String) {
        guard let colon = name.firstIndex(of: ":") else { return ("", "") }
        let info = String(name[name.index(after: colon)...])
        return (info, info.hasPrefix("2,") ? String(info.dropFirst(2)) : "")
    }

    /// Oldest first: by delivery time, then mtime, then name.
    static func isOlder(_ lhs: MaildirMessage, _ rhs: MaildirMessage) -> Bool {
        (lhs.deliveryTime, lhs.mtime, lhs.mtimeNanoseconds, lhs.name, lhs.folder)
            < (rhs.deliveryTime, rhs.mtime, rhs.mtimeNanoseconds, rhs.name, rhs.folder)
    }
}
