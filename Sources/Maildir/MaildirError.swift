import Glibc

/// A failed file-system step of a Maildir operation: which step, on which path, and why.
///
/// `isTemporary` decides between a 4xx (try again later) and a 5xx (bounce) reply; it comes
/// from ``MaildirError/status(errno:)``, the one place that maps errno to a delivery status
/// (like Postfix `mbox_dsn()`).
public struct MaildirError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The step that failed: "open", "write", "fsync", "syncfs", "link" (tmp/ → new/),
    /// "rename" (tmp/ → new/ where hard links are not supported), "mkdir", "unlink",
    /// "opendir", "stat", "read", "close", "folder" (bad sub-folder name), "maildir" (root not
    /// absolute or with `.`/`..` components), "deliver" (writer shut down).
    public var operation: String
    public var path: String
    public var errno: Int32
    /// True when the same delivery may succeed later (full disk, quota, I/O error, fd limit).
    public var isTemporary: Bool

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.isTemporary = Self.status(errno: errno).isTemporary
    }

    /// RFC 3463 enhanced status code for the reply, e.g. "4.3.1" for a full disk.
    public var enhancedStatusCode: String { Self.status(errno: errno).enhancedStatusCode }

    /// "fsync /x/tmp/NAME: No space left on device"
    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno)))"
    }

    /// Maps an errno to a delivery status. Errors the administrator must fix (permissions,
    /// read-only file system, a file where a folder should be) are permanent; everything else,
    /// including errnos not listed, is temporary: deferring is safe, bouncing loses mail.
    /// Counterpart of Postfix `mbox_dsn()`.
    public static func status(errno: Int32) -> MaildirStatus {
        switch errno {
        case ENOSPC: MaildirStatus(isTemporary: true, enhancedStatusCode: "4.3.1")
        case EDQUOT: MaildirStatus(isTemporary: true, enhancedStatusCode: "4.2.2")
        case EFBIG: MaildirStatus(isTemporary: false, enhancedStatusCode: "5.2.3")
        case EACCES, EPERM, EROFS, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP, EINVAL, EXDEV:
            MaildirStatus(isTemporary: false, enhancedStatusCode: "5.2.0")
        default: MaildirStatus(isTemporary: true, enhancedStatusCode: "4.3.0")
        }
    }
}

/// The delivery status an errno stands for (see ``MaildirError/status(errno:)``).
public struct MaildirStatus: Sendable, Equatable {
    public var isTemporary: Bool
    public var enhancedStatusCode: String
}
