import Glibc
import LinuxSystem
import MaildirDelivery

/// The spool directory of the relay queue: one file per message in `new/`, laid out as a
/// Maildir so that the session's group commit (`MaildirWriter`) writes a new message there
/// in the same batch and flush as its local deliveries. Updates go through `tmp/` (write,
/// fsync, rename over the old file, fsync `new/`), so a crash leaves the old or the new
/// state, never half of one. A lock file keeps a second smtpd off the same directory.
/// OpenSMTPD: `queue_fs.c` (which spreads envelopes over buckets, one file each).
public final class QueueSpool: Sendable {
    public let root: String
    /// The spool folder itself: every step below is relative to it, so the spool works for a
    /// process that may not search the folders above it (smtpd's network side, given the
    /// descriptor by its root parent: docs/PRIVILEGES.md).
    private let directory: Int32
    private let lockDescriptor: Int32
    /// Told the name of each step of an update (`rewrite`, `remove`) before it is taken: a
    /// test copies the spool there, as a kill at that point would leave it.
    private let beforeStep: (@Sendable (String) -> Void)?

    /// Opens (creating it and its parent if needed, 0700) and locks `root`. With `descriptor`
    /// (the folder `root` names, opened by whoever may reach it), nothing is looked up by
    /// path. Fails with EWOULDBLOCK when another process holds the lock.
    public convenience init(root: String, descriptor: Int32? = nil) throws(SystemError) {
        try self.init(root: root, descriptor: descriptor, beforeStep: nil)
    }

    init(
        root: String, descriptor: Int32? = nil, beforeStep: (@Sendable (String) -> Void)?
    ) throws(SystemError) {
        self.root = root
        self.beforeStep = beforeStep
        if let descriptor {
            directory = try FileSystem.duplicate(descriptor, path: root)
        } else {
            // The parent too: the default spool of a namespace is /var/spool/maillab/NAME.
            let parent = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)])
            var paths = [root]
            if !parent.isEmpty && !FileSystem.exists(parent) { paths.insert(parent, at: 0) }
            for path in paths {
                do {
                    try FileSystem.mkdir(path, mode: 0o700)
                } catch  where error.errno == EEXIST {
                }
            }
            directory = try Self.openRoot(root)
        }
        do throws(SystemError) {
            // The spool folder may be root's: a network side's parent keeps it (`prepare`).
            try Self.checkOwnDirectory(
                FileSystem.status(directory, path: root), root, orRoot: true)
            for name in ["tmp", "new", "cur"] {
                do {
                    try FileSystem.makeDirectoryAt(directory, name, mode: 0o700, path: root)
                } catch  where error.errno == EEXIST || error.errno == EACCES {
                    // EACCES: a spool folder of root's, whose folders its parent made.
                }
                try Self.checkOwnDirectory(
                    FileSystem.statusAt(directory, name, path: root + "/" + name),
                    root + "/" + name)
            }
            let lockPath = root + "/lock"
            let fd = try FileSystem.openAt(
                directory, "lock", O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600, path: lockPath)
            do {
                _ = try checkedCall("flock", lockPath) { flock(fd, LOCK_EX | LOCK_NB) }
            } catch {
                closeDescriptor(fd)
                throw error
            }
            lockDescriptor = fd
        } catch {
            closeDescriptor(directory)
            throw error
        }
        // Updates interrupted by a crash: the old state is still in new/, and with the lock
        // held nobody else is writing one. (The writer's own tmp/ files are swept by the
        // server before the queue reads the spool: whole ones go into new/.)
        if let tmp = try? openFolder("tmp") {
            defer { closeDescriptor(tmp) }
            for name in (try? FileSystem.directoryEntries(tmp, path: root + "/tmp")) ?? []
            where name.hasSuffix(Self.updateSuffix) {
                _ = try? FileSystem.unlinkAt(tmp, name, path: root + "/tmp/" + name)
            }
        }
    }

    static let updateSuffix = ".update"

    /// The spool folder `root`, never through a symbolic link (refused as such by name).
    private static func openRoot(_ root: String) throws(SystemError) -> Int32 {
        do {
            return try FileSystem.open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        } catch  where error.errno == ELOOP || error.errno == ENOTDIR {
            try checkOwnDirectory(FileSystem.linkStatus(root), root)
            throw error
        }
    }

    /// What a spool holds: nothing else is ever made in it.
    private static let folders = ["tmp", "new", "cur"]

    /// Readies `root` for a queue run as `owner` (by smtpd as root, before its network side
    /// takes the queue over, and back): made if missing (0700, a missing parent 0700 too),
    /// with `tmp/`, `new/`, `cur/` and the lock file given to `owner`, the files in them too.
    /// The spool folder itself stays root's (the network side needs only to pass through it:
    /// search permission is added), so that `owner` cannot rename what is next to it (the
    /// namespace spools inside the default one). Refuses a spool that is a symbolic link, not
    /// root's, writable by group or others, or holding anything the queue does not make (a
    /// folder named as the queue directory by mistake) but, with `nested`, folders (the
    /// namespace spools). A file with more than one link (a crash between the writer's link
    /// into new/ and its unlink of tmp/) is given away only when nobody but root could have
    /// made the link (its folder is root's); root can use it either way. Returns the spool
    /// folder, opened.
    public static func prepare(
        root: String, owner: uid_t, group: gid_t, trusted: [uid_t], nested: Bool
    ) throws(SystemError) -> Int32 {
        let parent = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)])
        for path in (parent.isEmpty ? [] : [parent]) + [root] {
            do {
                try FileSystem.mkdir(path, mode: 0o700)
            } catch  where error.errno == EEXIST {
            }
        }
        func refuse(_ path: String, _ problem: String) -> SystemError {
            SystemError("refusing spool", "\(path): it \(problem)", errno: EPERM)
        }
        func check(_ info: Glibc.stat, _ path: String, owners: Set<uid_t>) throws(SystemError) {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw refuse(path, "is not a directory") }
            guard owners.contains(info.st_uid) else {
                throw refuse(path, "is owned by uid \(info.st_uid)")
            }
            guard info.st_mode & 0o022 == 0 else {
                throw refuse(
                    path,
                    "is writable by group or others (mode \(String(info.st_mode & 0o777, radix: 8)))"
                )
            }
        }
        let fd = try openRoot(root)
        do throws(SystemError) {
            let info = try FileSystem.status(fd, path: root)
            try check(info, root, owners: [0])
            for name in try FileSystem.directoryEntries(fd, path: root).sorted()
            where !folders.contains(name) && name != "lock" {
                let entry = try FileSystem.statusAt(fd, name, path: root + "/" + name)
                if nested && entry.st_mode & S_IFMT == S_IFDIR { continue }
                throw refuse(
                    root,
                    "holds \(name), which the queue does not make (give the queue a folder of its own)"
                )
            }
            if owner != 0 && info.st_mode & 0o011 != 0o011 {
                _ = try checkedCall("chmod", root) { fchmod(fd, (info.st_mode & 0o7777) | 0o011) }
            }
            for name in folders {
                let path = root + "/" + name
                do {
                    try FileSystem.makeDirectoryAt(fd, name, mode: 0o700, path: path)
                } catch  where error.errno == EEXIST {
                }
                let folder: Int32
                do {
                    folder = try FileSystem.openAt(
                        fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, path: path)
                } catch  where error.errno == ELOOP || error.errno == ENOTDIR {
                    throw refuse(path, "is not a directory")
                }
                defer { closeDescriptor(folder) }
                let found = try FileSystem.status(folder, path: path)
                try check(found, path, owners: Set([0, owner] + trusted))
                // A folder of root's holds only what root made; one of another user may
                // hold links that user made to files it could name but does not own.
                let links = found.st_uid == 0
                for entry in try FileSystem.directoryEntries(folder, path: path) {
                    try giveFile(
                        folder, entry, path: path + "/" + entry, owner, group, links: links)
                }
                try FileSystem.changeOwner(folder, user: owner, group: group, path: path)
            }
            let lock = try FileSystem.openAt(
                fd, "lock", O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o600,
                path: root + "/lock")
            closeDescriptor(lock)
            try giveFile(fd, "lock", path: root + "/lock", owner, group, links: false)
            return fd
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// `name` in `folder` given to `owner`: a regular file only, opened without following a
    /// link and checked again on the descriptor (what changed in between is not chowned).
    private static func giveFile(
        _ folder: Int32, _ name: String, path: String, _ owner: uid_t, _ group: gid_t,
        links: Bool
    ) throws(SystemError) {
        let found = try FileSystem.statusAt(folder, name, path: path)
        guard found.st_mode & S_IFMT == S_IFREG else {
            throw SystemError(
                "refusing spool", "\(path): it is not a regular file (the queue makes none)",
                errno: EPERM)
        }
        guard found.st_uid != owner || found.st_gid != group, links || found.st_nlink == 1
        else { return }
        let fd = try FileSystem.openAt(
            folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, path: path)
        defer { closeDescriptor(fd) }
        let info = try FileSystem.status(fd, path: path)
        guard info.st_ino == found.st_ino, info.st_mode & S_IFMT == S_IFREG,
            links || info.st_nlink == 1
        else { return }
        try FileSystem.changeOwner(fd, user: owner, group: group, path: path)
    }

    /// A spool is smtpd's alone: a directory, not a symbolic link, owned by this process's
    /// user and writable by nobody else. Otherwise whoever made it (a user who created
    /// `/tmp/spool` first) could plant links that smtpd then writes through, or queue files
    /// that smtpd would relay as its own.
    static func checkOwnDirectory(_ status: Glibc.stat, _ path: String, orRoot: Bool = false)
        throws(SystemError)
    {
        let problem: String?
        if status.st_mode & S_IFMT == S_IFLNK {
            problem = "is a symbolic link"
        } else if status.st_mode & S_IFMT != S_IFDIR {
            problem = "is not a directory"
        } else if status.st_uid != geteuid() && !(orRoot && status.st_uid == 0) {
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

    deinit {
        closeDescriptor(lockDescriptor)
        closeDescriptor(directory)
    }

    private func openFolder(_ name: String) throws(SystemError) -> Int32 {
        try FileSystem.openAt(
            directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, path: root + "/" + name)
    }

    /// Where queued messages are (what `MaildirWriter` publishes into).
    public var messageDirectory: String { root + "/new" }

    /// Every message file's name.
    public func names() throws(SystemError) -> [String] {
        let new = try openFolder("new")
        defer { closeDescriptor(new) }
        return try FileSystem.directoryEntries(new, path: messageDirectory).filter {
            !$0.hasPrefix(".")
        }.sorted()
    }

    /// The envelope of message file `name`: its bytes up to and with the `end` line (all of
    /// a file without one, which `QueueFileCodec.decode` then calls truncated).
    public func envelope(_ name: String) throws(SystemError) -> [UInt8] {
        let (fd, path) = try openMessage(name)
        defer { closeDescriptor(fd) }
        return try Self.envelope(fd, path: path).bytes
    }

    /// The content of message file `name` (what follows its envelope), open for reading a
    /// piece at a time.
    public func content(_ name: String) throws(SystemError) -> SpooledContent {
        let (fd, path) = try openMessage(name)
        do throws(SystemError) {
            let (envelope, complete) = try Self.envelope(fd, path: path)
            guard complete else {
                throw SystemError("read", path + " (no envelope end)", errno: EINVAL)
            }
            let size = Int(try FileSystem.status(fd, path: path).st_size)
            return SpooledContent(
                descriptor: fd, start: envelope.count, count: max(0, size - envelope.count),
                path: path)
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// Replaces the envelope of message file `name` with `envelope`, durably: a new file of
    /// the new envelope and the old content, renamed over the old one.
    public func rewrite(_ name: String, envelope: [UInt8]) throws(SystemError) {
        let content = try self.content(name)
        let temporaryName = name + Self.updateSuffix
        let temporary = root + "/tmp/" + temporaryName
        let tmp = try openFolder("tmp")
        defer { closeDescriptor(tmp) }
        let new = try openFolder("new")
        defer { closeDescriptor(new) }
        // A new file, never one found there (nor what a link there points to).
        beforeStep?("create \(temporaryName)")
        do {
            try FileSystem.unlinkAt(tmp, temporaryName, path: temporary)
        } catch  where error.errno == ENOENT {
        }
        let fd = try FileSystem.openAt(
            tmp, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600,
            path: temporary)
        do throws(SystemError) {
            try FileSystem.writeAll(fd, [envelope], path: temporary)
            var offset = 0
            while offset < content.count {
                let piece = try content.read(
                    at: offset, count: min(RelayContent.piece, content.count - offset))
                guard !piece.isEmpty else {
                    throw SystemError("read", content.path + " (shorter than it was)", errno: EIO)
                }
                try FileSystem.writeAll(fd, [piece], path: temporary)
                offset += piece.count
            }
            beforeStep?("fsync \(temporaryName)")
            try FileSystem.fsync(fd, path: temporary)
        } catch {
            closeDescriptor(fd)
            _ = try? FileSystem.unlinkAt(tmp, temporaryName, path: temporary)
            throw error
        }
        try closeChecked(fd, temporary)
        if let twin = deliveredTwin(of: name, in: new) {
            // The old file's tmp/ name goes before the rename, once new/NAME is durable: left
            // behind the rename (a kill during its fsync), it would come back as a message.
            try FileSystem.fsync(new, path: messageDirectory)
            beforeStep?("unlink tmp/\(twin)")
            try removeTwin(twin, in: tmp)
        }
        beforeStep?("rename over new/\(name)")
        try FileSystem.renameAt(tmp, temporaryName, new, name, path: messageDirectory + "/" + name)
        try FileSystem.fsync(new, path: messageDirectory)
        beforeStep?("done")
    }

    /// The tmp/ name the writer may still keep for a file it delivered into new/ (until a
    /// flush covers the new/ name: `NAME,S=<size>`, docs/DURABILITY.md, "The protocol").
    /// After a crash the sweep would recover that name as a message of its own once `NAME`
    /// is replaced or removed: a rewrite or a removal takes it away first.
    private func deliveredTwin(of name: String, in new: Int32) -> String? {
        guard let info = try? FileSystem.statusAt(new, name, path: messageDirectory + "/" + name),
            info.st_nlink > 1
        else { return nil }
        return Maildir.temporaryName(ofDelivered: name, size: Int(info.st_size))
    }

    /// Unlinks a delivered file's tmp/ twin; one the writer retired meanwhile is gone already.
    private func removeTwin(_ twin: String, in tmp: Int32) throws(SystemError) {
        do {
            try FileSystem.unlinkAt(tmp, twin, path: root + "/tmp/" + twin)
        } catch  where error.errno == ENOENT {
        }
    }

    /// Opens message file `name` for reading: a regular file in `new/`, never through a link.
    private func openMessage(_ name: String) throws(SystemError) -> (Int32, String) {
        let path = messageDirectory + "/" + name
        let new = try openFolder("new")
        defer { closeDescriptor(new) }
        let fd = try FileSystem.openAt(new, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW, path: path)
        do throws(SystemError) {
            let info = try FileSystem.status(fd, path: path)
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw SystemError("read", path, errno: EINVAL)
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return (fd, path)
    }

    /// The most an envelope may take (a message with thousands of recipients stays far
    /// below it); a file past it without an `end` line is not a queue file.
    static let envelopeLimit = 16 << 20

    /// Reads `fd` from its start up to and with the envelope's `end` line; `complete`
    /// false when the file ended (or passed `envelopeLimit`) without one.
    private static func envelope(_ fd: Int32, path: String) throws(SystemError) -> (
        bytes: [UInt8], complete: Bool
    ) {
        var bytes: [UInt8] = []
        while bytes.count < envelopeLimit {
            let piece = try FileSystem.read(fd, at: bytes.count, count: 4096, path: path)
            // The end line may straddle two pieces: search from just before this one.
            let from = max(0, bytes.count - 4)
            bytes += piece
            if let length = QueueFileCodec.envelopeLength(Array(bytes[from...])) {
                return (Array(bytes[..<(from + length)]), true)
            }
            if piece.count < 4096 { break }
        }
        return (bytes, false)
    }

    /// Removes the message file `name` (after every recipient is done), and the tmp/ name
    /// its writer may still keep. Not flushed: a crash that brings it back delivers again,
    /// which at-least-once allows.
    public func remove(_ name: String) throws(SystemError) {
        let new = try openFolder("new")
        defer { closeDescriptor(new) }
        if let twin = deliveredTwin(of: name, in: new) {
            let tmp = try openFolder("tmp")
            defer { closeDescriptor(tmp) }
            beforeStep?("unlink tmp/\(twin)")
            try removeTwin(twin, in: tmp)
        }
        beforeStep?("unlink new/\(name)")
        try FileSystem.unlinkAt(new, name, path: messageDirectory + "/" + name)
        beforeStep?("done")
    }
}
