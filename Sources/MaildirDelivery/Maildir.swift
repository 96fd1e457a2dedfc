import Glibc
import LinuxSystem

/// One Maildir: a root folder with `tmp/`, `new/` and `cur/`.
public struct Maildir: Sendable, Hashable {
    /// Mode of every folder this module creates (OpenSMTPD mail.maildir: 0700).
    package static let folderMode: mode_t = 0o700
    /// Mode of every message file (OpenSMTPD mail.maildir: 0600).
    static let fileMode: mode_t = 0o600

    /// The root folder, without a trailing slash.
    public var root: String

    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    public var tmp: String { root + "/tmp" }
    public var new: String { root + "/new" }
    public var cur: String { root + "/cur" }

    /// The operation of the error a refused symbolic link fails with (errno ELOOP): a folder
    /// the walk to a Maildir may not follow (see `OpenedMaildir`). Its own name, because the
    /// store answers it with a temporary failure where other ELOOPs are permanent.
    public static let refusedLink = "refuse symbolic link"

    /// The operation of the error a step fails with when the Maildir's owner, whom the writer
    /// acts as, may not do it (EACCES, EPERM): the owner's folders deny it, which the owner
    /// can fix; the store answers it with a temporary failure where other EACCES are permanent.
    public static let deniedToOwner = "write as the mailbox owner"

    /// How old a `tmp/` file not written by smtpd must be before the sweep may remove it
    /// (maildir(5): another program may still be writing it; qmail waits 36 hours).
    public static let foreignStaleSeconds = 36 * 3600

    /// Creates the root (and missing parents) plus `tmp/`, `new/`, `cur/`, all 0700, walking
    /// there without following an untrusted symbolic link (see `OpenedMaildir`). Folders that
    /// already exist are fine. Equivalent to: `mkdir -p -m 0700 ROOT/{tmp,new,cur}`.
    public func prepare() throws(SystemError) {
        _ = try OpenedMaildir.open(self, creating: true)
    }

    /// Puts right what writers that are gone left in `tmp/`, on server start (and at the
    /// writer's first visit of a Maildir): a whole message whose name says it was written
    /// in full (`,S=<size>`, ``MaildirNamer/marked(_:size:extraLinks:)``) is moved into
    /// `new/` under the names it was meant to have — it may have been acknowledged, since
    /// smtpd answers once the file and its tmp/ name are flushed, before it links it into
    /// new/ (docs/DURABILITY.md). Every other file that is provably a stale Maildir
    /// temporary is removed. Only regular files are touched (never a link, a folder or a
    /// device), named like a Maildir file (`SECONDS.UNIQUE.HOST`), owned by the Maildir's
    /// owner or by smtpd's user, and either written by an smtpd that is no longer running
    /// (its pid in the name) or older than ``foreignStaleSeconds``. Works relative to the
    /// `tmp/` it opened (linkat, unlinkat), so a `tmp/` that is a symbolic link is refused,
    /// not swept. Fresh names in new/ carry `hostname`. A Maildir without `tmp/` has nothing.
    public func sweepTemporaryFiles(hostname: String) throws(SystemError) -> TemporarySweep {
        let opened: OpenedMaildir
        do {
            opened = try OpenedMaildir.open(self, creating: false)
        } catch  where error.errno == ENOENT {
            return TemporarySweep()
        }
        _ = OpenedMaildir.claimSweep(of: root)
        return try opened.sweepTemporaryFiles(namer: MaildirNamer(hostname: hostname))
    }

    /// The Maildir++ sub-folder `ROOT/.NAME` (e.g. `.Junk`, or `.ext` for a `+ext` address).
    /// Names that could leave the root or hide in another folder are refused: empty, `.` or
    /// `..` components (Maildir++ nests with dots), `/`, NUL, a leading dot.
    public func folder(_ name: String) throws(SystemError) -> Maildir {
        guard Self.isValidFolderName(name) else {
            throw SystemError("folder", name, errno: EINVAL)
        }
        return Maildir(root: root + "/." + name)
    }

    /// A root the writer delivers to: absolute, without `.`/`..` components or NUL, so that
    /// a mistake upstream cannot turn "" into "/tmp" or walk out of the mail folders.
    static func isValidRoot(_ root: String) -> Bool {
        guard root.hasPrefix("/"), !root.utf8.contains(0) else { return false }
        return !root.split(separator: "/").contains { $0 == "." || $0 == ".." }
    }

    static func isValidFolderName(_ name: String) -> Bool {
        if name.isEmpty || name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == 0 }) {
            return false
        }
        // "." separates Maildir++ levels; no level may be empty. That refuses ".", "..",
        // "a..b" and a leading or trailing dot.
        return !name.split(separator: ".", omittingEmptySubsequences: false).contains {
            $0.isEmpty
        }
    }
}
