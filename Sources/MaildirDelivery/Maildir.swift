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

    /// Creates the root (and missing parents) plus `tmp/`, `new/`, `cur/`, all 0700.
    /// Folders that already exist are fine. Equivalent to: `mkdir -p -m 0700 ROOT/{tmp,new,cur}`.
    public func prepare() throws(SystemError) {
        try Self.makeDirectory(root)
        for folder in [tmp, new, cur] { try Self.makeDirectory(folder) }
    }

    /// Removes every file in `tmp/`. Run on server start: nothing in tmp/ was ever
    /// acknowledged, so all of it is stale. Returns the number of files removed; a Maildir
    /// without `tmp/` has none. Folders inside tmp/ are left alone.
    public func removeStaleTemporaryFiles() throws(SystemError) -> Int {
        let names: [String]
        do {
            names = try FileSystem.directoryEntries(tmp)
        } catch  where error.errno == ENOENT {
            return 0
        }
        var removed = 0
        for name in names {
            do {
                try FileSystem.unlink(tmp + "/" + name)
                removed += 1
            } catch  where error.errno == ENOENT || error.errno == EISDIR {
                // Gone meanwhile, or a folder (not ours): leave it.
            }
        }
        return removed
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

    static func makeDirectory(_ path: String) throws(SystemError) {
        do {
            try FileSystem.mkdir(path, mode: folderMode)
        } catch  where error.errno == EEXIST {
            try requireDirectory(path)
        } catch  where error.errno == ENOENT {
            guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { throw error }
            try makeDirectory(String(path[..<slash]))
            do {
                try FileSystem.mkdir(path, mode: folderMode)
            } catch  where error.errno == EEXIST {
                try requireDirectory(path)  // another writer was quicker
            }
        }
    }

    private static func requireDirectory(_ path: String) throws(SystemError) {
        if try FileSystem.status(path).st_mode & S_IFMT != S_IFDIR {
            throw SystemError("mkdir", path, errno: ENOTDIR)
        }
    }
}
