import Glibc
import LinuxSystem
import Synchronization

/// A Maildir's folders, opened by a walk from `/` that follows no symbolic link a user could
/// have planted: every later step (create, link, unlink, flush, sweep) works relative to
/// these descriptors, so a folder swapped for a link after the walk changes nothing.
///
/// The walk follows a symbolic link only inside a *trusted* folder: one owned by root (or by
/// the user smtpd runs as) that nobody else may write, reached through trusted folders only
/// (`/`, `/home`, `/var`: only the administrator can have put a link there). Below the first
/// untrusted folder (a home, `/tmp`), and always for the Maildir root itself and its `tmp/`,
/// `new/` and `cur/`, a symbolic link is refused (``Maildir/refusedLink``), never followed.
/// Postfix's local(8) refuses symlinked mailboxes likewise.
final class OpenedMaildir: @unchecked Sendable {
    // Immutable after init: shared read-only by the writer and flush threads.
    let maildir: Maildir
    /// O_RDONLY descriptors of `tmp/` and `new/` (fsync and syncfs need readable ones).
    let tmp: Int32
    let new: Int32
    /// Whom new files must belong to: the Maildir root's owner, when root writes into a
    /// Maildir that is not root's (a home Maildir stays manageable by its owner); nil: as
    /// created (by root, or by the owner the writer thread acts as).
    let owner: (user: uid_t, group: gid_t)?
    /// What the walk found: the root, `tmp/` and `new/` (device, inode; the root's owner),
    /// to tell whether the paths still lead there (``isCurrent``).
    private let found: [Found]

    private struct Found: Equatable {
        let device: UInt64
        let inode: UInt64
        let user: uid_t

        init(_ info: Glibc.stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            user = info.st_uid
        }
    }

    private init(
        maildir: Maildir, tmp: Int32, new: Int32, owner: (uid_t, gid_t)?, found: [Found]
    ) {
        self.maildir = maildir
        self.tmp = tmp
        self.new = new
        self.owner = owner
        self.found = found
    }

    /// True while the root, `tmp/` and `new/` are still the folders this walk opened (and the
    /// root has the same owner): three `lstat`s instead of a walk from `/`. A path swapped
    /// for a link, moved, or made anew leads elsewhere, and the caller walks again (which
    /// refuses the link). A link to the very same folder passes, and changes nothing.
    var isCurrent: Bool {
        // An anchored root is the folder its descriptor holds, whatever its path leads to.
        if MaildirAnchors.descriptor(for: maildir.root) != nil { return true }
        var info = Glibc.stat()
        for (path, expected) in zip([maildir.root, maildir.tmp, maildir.new], found) {
            guard Glibc.lstat(path, &info) == 0, Found(info) == expected else { return false }
        }
        return true
    }

    deinit {
        closeDescriptor(tmp)
        closeDescriptor(new)
    }

    /// Walks to `maildir` and opens its folders; with `creating`, missing folders are made
    /// (0700, owned like the folder they are made in when smtpd runs as root).
    /// Equivalent to: `mkdir -p -m 0700 ROOT/{tmp,new,cur}`, minus every untrusted link.
    static func open(_ maildir: Maildir, creating: Bool) throws(SystemError) -> OpenedMaildir {
        guard Maildir.isValidRoot(maildir.root) else {
            throw SystemError("maildir", maildir.root, errno: EINVAL)
        }
        let root = try walk(to: maildir.root, creating: creating)
        defer { closeDescriptor(root.fd) }
        var opened: [Int32] = []
        var found = [Found(root.info)]
        do throws(SystemError) {
            for (name, path) in [("tmp", maildir.tmp), ("new", maildir.new), ("cur", maildir.cur)] {
                let child = try openFolder(
                    root.fd, name, path: path, follow: false, creating: creating,
                    parent: root.info)
                opened.append(child.fd)
                found.append(Found(child.info))
            }
        } catch {
            for fd in opened { closeDescriptor(fd) }
            throw error
        }
        closeDescriptor(opened[2])  // cur/ only has to exist: smtpd never writes there
        // Writing as root into a Maildir that is someone else's: the files become theirs.
        // (A thread acting as the owner makes them theirs by itself.)
        let owner =
            ThreadFileSystemIdentity.currentUser() == 0 && root.info.st_uid != 0
            ? (root.info.st_uid, root.info.st_gid) : nil
        return OpenedMaildir(
            maildir: maildir, tmp: opened[0], new: opened[1], owner: owner,
            found: Array(found.prefix(3)))
    }

    /// Opens the folder `path` (absolute, validated) component by component from `/`.
    private static func walk(to path: String, creating: Bool) throws(SystemError) -> (
        fd: Int32, info: Glibc.stat
    ) {
        if let anchor = MaildirAnchors.descriptor(for: path) {
            let fd = try FileSystem.duplicate(anchor, path: path)
            do {
                return (fd, try FileSystem.status(fd, path: path))
            } catch {
                closeDescriptor(fd)
                throw error
            }
        }
        var fd = try FileSystem.open("/", FileSystem.pathOnly | O_DIRECTORY)
        var info: Glibc.stat
        do {
            info = try FileSystem.status(fd, path: "/")
        } catch {
            closeDescriptor(fd)
            throw error
        }
        var trusted = isTrusted(info)
        var reached = ""
        let components = path.split(separator: "/")
        for (index, component) in components.enumerated() {
            reached += "/" + component
            let isRoot = index == components.count - 1
            let child: (fd: Int32, info: Glibc.stat)
            do throws(SystemError) {
                child = try openFolder(
                    fd, String(component), path: reached, follow: trusted && !isRoot,
                    creating: creating, parent: info, readable: false)
            } catch {
                closeDescriptor(fd)
                throw error
            }
            closeDescriptor(fd)
            (fd, info) = child
            trusted = trusted && isTrusted(info)
        }
        return (fd, info)
    }

    /// Only root (or smtpd's own user) can change the entries of such a folder.
    private static func isTrusted(_ info: Glibc.stat) -> Bool {
        (info.st_uid == 0 || info.st_uid == geteuid()) && info.st_mode & 0o022 == 0
    }

    /// Opens (or makes) the folder `name` in `parent`. A symbolic link that may not be
    /// followed is refused with ``Maildir/refusedLink``; anything else that is not a folder
    /// fails with ENOTDIR.
    private static func openFolder(
        _ parent: Int32, _ name: String, path: String, follow: Bool, creating: Bool,
        parent parentInfo: Glibc.stat, readable: Bool = true
    ) throws(SystemError) -> (fd: Int32, info: Glibc.stat) {
        let flags =
            (readable ? O_RDONLY : FileSystem.pathOnly) | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW)
        var created = false
        var fd: Int32
        do {
            fd = try FileSystem.openAt(parent, name, flags, path: path)
        } catch  where error.errno == ENOENT && creating {
            do {
                try FileSystem.makeDirectoryAt(parent, name, mode: Maildir.folderMode, path: path)
                created = true
                try flushEntries(of: parent, holding: path)
            } catch  where error.errno == EEXIST {
                // Another writer was quicker; open what is there, under the same rules.
            }
            do {
                fd = try FileSystem.openAt(
                    parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, path: path)
            } catch  where error.errno == ENOTDIR || error.errno == ELOOP {
                throw notAFolder(parent, name, path: path, creating: true, followed: false)
            }
        } catch  where error.errno == ENOTDIR || error.errno == ELOOP {
            throw notAFolder(
                parent, name, path: path, creating: creating, followed: follow)
        }
        do {
            if created && parentInfo.st_uid != 0 && ThreadFileSystemIdentity.currentUser() == 0 {
                // A folder made in a user's folder belongs to that user, as if they made it.
                try FileSystem.changeOwner(
                    fd, user: parentInfo.st_uid, group: parentInfo.st_gid, path: path)
            }
            return (fd, try FileSystem.status(fd, path: path))
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// fsync of the folder `parent` (maybe an O_PATH descriptor) after a folder was made in
    /// it: the new name is durable only once its parent is flushed, and the deliveries' own
    /// flushes cover only the files and `new/` (in the fsync modes; syncfs covers all).
    private static func flushEntries(of parent: Int32, holding path: String)
        throws(SystemError)
    {
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        let parentPath = slash == path.startIndex ? "/" : String(path[..<slash])
        let readable: Int32
        do {
            readable = try FileSystem.openAt(
                parent, ".", O_RDONLY | O_DIRECTORY, path: parentPath)
        } catch  where error.errno == EACCES {
            // XXX: a parent we may search but not read (a 0711 home) cannot be opened to be
            // flushed; refusing the delivery for it would cost more than the risk.
            return
        }
        defer { closeDescriptor(readable) }
        try FileSystem.fsync(readable, path: parentPath)
    }

    private static func notAFolder(
        _ parent: Int32, _ name: String, path: String, creating: Bool, followed: Bool
    ) -> SystemError {
        if !followed, let info = try? FileSystem.statusAt(parent, name, path: path),
            info.st_mode & S_IFMT == S_IFLNK
        {
            return SystemError(Maildir.refusedLink, path, errno: ELOOP)
        }
        return SystemError(creating ? "mkdir" : "open", path, errno: ENOTDIR)
    }
}

/// Maildir roots this process reaches through a descriptor it was given rather than by a
/// walk from `/`: smtpd's network side, which may not search the folders above its relay
/// spool (a 0700 folder of root's), holds the spool's folder as its parent opened it
/// (docs/PRIVILEGES.md). Registered once at start; read by every walk.
public enum MaildirAnchors {
    private static let anchors = Mutex<[String: Int32]>([:])

    /// From now on the Maildir at `root` is the folder `descriptor` holds (an O_DIRECTORY
    /// descriptor, kept open by the caller for the life of the process).
    public static func register(root: String, descriptor: Int32) {
        let root = Maildir(root: root).root
        anchors.withLock { $0[root] = descriptor }
    }

    static func descriptor(for root: String) -> Int32? {
        anchors.withLock { $0[root] }
    }
}

/// The writer's opened Maildirs, kept from batch to batch: a Maildir that is still what its
/// walk found (``OpenedMaildir/isCurrent``) is not walked to again. Keyed by root and by the
/// owner the walk was made as. Shared by the commit thread and the stream writer.
final class OpenedMaildirCache: Sendable {
    /// Beyond it the cache starts over (each entry holds two descriptors).
    static let limit = 256

    private let entries = Mutex<[MaildirDeliverySteps.OpenedKey: OpenedMaildir]>([:])

    /// The cached folders of `maildir` if still current, else a fresh walk (`creating`).
    func open(_ maildir: Maildir, key: MaildirDeliverySteps.OpenedKey, fresh: Bool = false)
        throws(SystemError) -> OpenedMaildir
    {
        if !fresh, let cached = entries.withLock({ $0[key] }), cached.isCurrent {
            return cached
        }
        entries.withLock { _ = $0.removeValue(forKey: key) }
        let folders = try OpenedMaildir.open(maildir, creating: true)
        entries.withLock { entries in
            if entries.count >= Self.limit { entries.removeAll() }
            entries[key] = folders
        }
        return folders
    }

    /// Lets go of every folder (each closed once no batch holds it): a writer that has shut
    /// down keeps no descriptor that would hold a Maildir's file system busy.
    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
