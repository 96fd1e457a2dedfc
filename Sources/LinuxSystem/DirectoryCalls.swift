import CSystem
import Glibc

/// The `*at` family: calls relative to an open directory, so that a walk from a directory it
/// opened itself cannot be redirected by a symbolic link or a renamed folder in between.
/// `path` only names the object in errors.
extension FileSystem {
    /// O_PATH (Glibc exports it only with _GNU_SOURCE): a descriptor good for `*at` calls and
    /// fstat, not for reading.
    public static let pathOnly: Int32 = CSYSTEM_O_PATH

    /// openat(2), close-on-exec.
    public static func openAt(
        _ directory: Int32, _ name: String, _ flags: Int32, mode: mode_t = 0, path: String
    ) throws(SystemError) -> Int32 {
        try checkedCall("open", path) {
            csystem_openat_mode(directory, name, flags | O_CLOEXEC, mode)
        }
    }

    /// A second descriptor of what `fd` holds, close-on-exec (fcntl F_DUPFD_CLOEXEC): unlike
    /// an openat of ".", it needs no permission on the folder (a 0711 one may be passed
    /// through, not read).
    public static func duplicate(_ fd: Int32, path: String) throws(SystemError) -> Int32 {
        try checkedCall("dup", path) { Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// mkdirat(2)
    public static func makeDirectoryAt(
        _ directory: Int32, _ name: String, mode: mode_t, path: String
    ) throws(SystemError) {
        _ = try checkedCall("mkdir", path) { Glibc.mkdirat(directory, name, mode) }
    }

    /// unlinkat(2); `flags` AT_REMOVEDIR removes a folder.
    public static func unlinkAt(
        _ directory: Int32, _ name: String, flags: Int32 = 0, path: String
    ) throws(SystemError) {
        _ = try checkedCall("unlink", path) { Glibc.unlinkat(directory, name, flags) }
    }

    /// linkat(2) without AT_SYMLINK_FOLLOW: fails with EEXIST rather than replace `to`.
    public static func linkAt(
        _ fromDirectory: Int32, _ from: String, _ toDirectory: Int32, _ to: String, path: String
    ) throws(SystemError) {
        _ = try checkedCall("link", path) { Glibc.linkat(fromDirectory, from, toDirectory, to, 0) }
    }

    /// renameat(2)
    public static func renameAt(
        _ fromDirectory: Int32, _ from: String, _ toDirectory: Int32, _ to: String, path: String
    ) throws(SystemError) {
        _ = try checkedCall("rename", path) { Glibc.renameat(fromDirectory, from, toDirectory, to) }
    }

    /// fstatat(2) with AT_SYMLINK_NOFOLLOW: a symbolic link is described, not followed.
    public static func statusAt(_ directory: Int32, _ name: String, path: String)
        throws(SystemError) -> Glibc.stat
    {
        var info = Glibc.stat()
        _ = try checkedCall("stat", path) {
            Glibc.fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW)
        }
        return info
    }

    /// fchown(2)
    public static func changeOwner(_ fd: Int32, user: uid_t, group: gid_t, path: String)
        throws(SystemError)
    {
        _ = try checkedCall("chown", path) { Glibc.fchown(fd, user, group) }
    }

    /// The names in an open directory (without `.` and `..`), unsorted; `fd` stays open.
    /// fdopendir(3) on a duplicate, so closing the stream leaves `fd` alone.
    public static func directoryEntries(_ fd: Int32, path: String) throws(SystemError) -> [String] {
        let copy = try checkedCall("open", path) {
            csystem_openat_mode(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        }
        guard let directory = fdopendir(copy) else {
            let code = errno
            closeDescriptor(copy)
            throw SystemError("opendir", path, errno: code)
        }
        return names(in: directory)
    }
}

extension FileSystem {
    /// Bytes an unprivileged user may still write on the file system holding `path`:
    /// statvfs(3)'s `f_bavail * f_frsize`.
    public static func availableBytes(_ path: String) throws(SystemError) -> Int {
        var info = statvfs()
        _ = try checkedCall("statvfs", path) { csystem_statvfs(path, &info) }
        let (bytes, overflow) = Int(clamping: info.f_bavail).multipliedReportingOverflow(
            by: Int(clamping: info.f_frsize))
        return overflow ? Int.max : bytes
    }
}
