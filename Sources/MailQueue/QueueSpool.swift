import Glibc
import LinuxSystem

/// The spool directory of the relay queue: one file per message in `new/`, laid out as a
/// Maildir so that the session's group commit (`MaildirWriter`) writes a new message there
/// in the same batch and flush as its local deliveries. Updates go through `tmp/` (write,
/// fsync, rename over the old file, fsync `new/`), so a crash leaves the old or the new
/// state, never half of one. A lock file keeps a second smtpd off the same directory.
/// OpenSMTPD: `queue_fs.c` (which spreads envelopes over buckets, one file each).
public final class QueueSpool: Sendable {
    public let root: String
    private let lockDescriptor: Int32

    /// Opens (creating it and its parent if needed, 0700) and locks `root`. Fails with EWOULDBLOCK when
    /// another process holds the lock.
    public init(root: String) throws(SystemError) {
        self.root = root
        // The parent too: the default spool of a namespace is /var/spool/maillab/NAME.
        let parent = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)])
        var paths = [root, root + "/tmp", root + "/new", root + "/cur"]
        if !parent.isEmpty && !FileSystem.exists(parent) { paths.insert(parent, at: 0) }
        for path in paths {
            do {
                try FileSystem.mkdir(path, mode: 0o700)
            } catch  where error.errno == EEXIST {
            }
        }
        for path in [root, root + "/tmp", root + "/new", root + "/cur"] {
            try Self.checkOwnDirectory(path)
        }
        let lockPath = root + "/lock"
        let fd = try FileSystem.open(
            lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode: 0o600)
        do {
            _ = try checkedCall("flock", lockPath) { flock(fd, LOCK_EX | LOCK_NB) }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        lockDescriptor = fd
        // Updates interrupted by a crash: the old state is still in new/, and with the lock
        // held nobody else is writing one. (The writer's own tmp/ files are swept by the
        // server before the queue reads the spool: whole ones go into new/.)
        for name in (try? FileSystem.directoryEntries(root + "/tmp")) ?? []
        where name.hasSuffix(Self.updateSuffix) {
            _ = try? FileSystem.unlink(root + "/tmp/" + name)
        }
    }

    static let updateSuffix = ".update"

    /// A spool is root's (smtpd's) alone: a directory, not a symbolic link, owned by this
    /// process's user and writable by nobody else. Otherwise whoever made it (a user who
    /// created `/tmp/spool` first) could plant links that root then writes through, or
    /// queue files that smtpd would relay as its own.
    static func checkOwnDirectory(_ path: String) throws(SystemError) {
        let status = try FileSystem.linkStatus(path)
        let problem: String?
        if status.st_mode & S_IFMT == S_IFLNK {
            problem = "is a symbolic link"
        } else if status.st_mode & S_IFMT != S_IFDIR {
            problem = "is not a directory"
        } else if status.st_uid != geteuid() {
            problem = "is owned by uid \(status.st_uid), not \(geteuid())"
        } else if status.st_mode & 0o022 != 0 {
            problem =
                "is writable by group or others (mode \(String(status.st_mode & 0o777, radix: 8)))"
        } else {
            problem = nil
        }
        if let problem {
            throw SystemError("refusing spool", "\(path): it \(problem)", errno: EPERM)
        }
    }

    deinit { closeDescriptor(lockDescriptor) }

    /// Where queued messages are (what `MaildirWriter` publishes into).
    public var messageDirectory: String { root + "/new" }

    /// Every message file's name.
    public func names() throws(SystemError) -> [String] {
        try FileSystem.directoryEntries(messageDirectory).filter { !$0.hasPrefix(".") }.sorted()
    }

    public func read(_ name: String) throws(SystemError) -> [UInt8] {
        try FileSystem.readFile(messageDirectory + "/" + name, limit: 1 << 30, regularOnly: true)
    }

    /// Replaces the message file `name` with `bytes`, durably.
    public func rewrite(_ name: String, _ bytes: [UInt8]) throws(SystemError) {
        let temporary = root + "/tmp/" + name + Self.updateSuffix
        // A new file, never one found there (nor what a link there points to).
        do {
            try FileSystem.unlink(temporary)
        } catch  where error.errno == ENOENT {
        }
        let fd = try FileSystem.open(
            temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600)
        do {
            try FileSystem.writeAll(fd, [bytes], path: temporary)
            try FileSystem.fsync(fd, path: temporary)
        } catch {
            closeDescriptor(fd)
            _ = try? FileSystem.unlink(temporary)
            throw error
        }
        try closeChecked(fd, temporary)
        try FileSystem.rename(temporary, messageDirectory + "/" + name)
        try syncDirectory()
    }

    /// Removes the message file `name` (after every recipient is done). Not flushed: a crash
    /// that brings it back delivers again, which at-least-once allows.
    public func remove(_ name: String) throws(SystemError) {
        try FileSystem.unlink(messageDirectory + "/" + name)
    }

    private func syncDirectory() throws(SystemError) {
        let fd = try FileSystem.open(messageDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { closeDescriptor(fd) }
        try FileSystem.fsync(fd, path: messageDirectory)
    }
}
