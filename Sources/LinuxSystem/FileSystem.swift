import CSystem
import Glibc

/// File-system calls, each wrapped once: typed errors naming the path, EINTR retried through
/// `systemCall`, close-on-exec always.
public enum FileSystem {
    /// IOV_MAX (UIO_MAXIOV) on Linux; Glibc does not export the macro.
    private static let maximumVectors = 1024

    /// open(2), close-on-exec.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError)
        -> Int32
    {
        try checkedCall("open", path) { csystem_open_mode(path, flags | O_CLOEXEC, mode) }
    }

    public static func fsync(_ fd: Int32, path: String) throws(SystemError) {
        _ = try checkedCall("fsync", path) { Glibc.fsync(fd) }
    }

    /// syncfs(2) followed by fsync(2) of the same descriptor.
    ///
    /// syncfs alone is not a durability barrier on every file system: Linux's
    /// sync_filesystem() ends with sync_blockdev() *after* ext4's cache flush, so on ext4
    /// without a journal the inode and directory blocks it writes last may sit in the disk's
    /// volatile cache. The fsync issues the flush after them (and is cheap: everything is
    /// clean by then).
    public static func syncFileSystem(_ fd: Int32, path: String) throws(SystemError) {
        _ = try checkedCall("syncfs", path) { csystem_syncfs(fd) }
        try fsync(fd, path: path)
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        _ = try checkedCall("rename", to) { Glibc.rename(from, to) }
    }

    /// link(2): fails with EEXIST rather than replace `to`.
    public static func link(_ from: String, _ to: String) throws(SystemError) {
        _ = try checkedCall("link", to) { Glibc.link(from, to) }
    }

    public static func mkdir(_ path: String, mode: mode_t) throws(SystemError) {
        _ = try checkedCall("mkdir", path) { Glibc.mkdir(path, mode) }
    }

    public static func unlink(_ path: String) throws(SystemError) {
        _ = try checkedCall("unlink", path) { Glibc.unlink(path) }
    }

    /// stat(2)
    public static func status(_ path: String) throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        _ = try checkedCall("stat", path) { stat(path, &info) }
        return info
    }

    /// fstat(2)
    public static func status(_ fd: Int32, path: String) throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        _ = try checkedCall("stat", path) { Glibc.fstat(fd, &info) }
        return info
    }

    /// lstat(2): the link itself, not what it points to.
    public static func linkStatus(_ path: String) throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        _ = try checkedCall("lstat", path) { lstat(path, &info) }
        return info
    }

    /// Removes `path` and, if it is a directory, everything below it (`rm -rf`). Symbolic
    /// links are removed, never followed. What cannot be removed is left.
    public static func removeTree(_ path: String) {
        guard let info = try? linkStatus(path) else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in (try? directoryEntries(path)) ?? [] { removeTree(path + "/" + name) }
            _ = Glibc.rmdir(path)
        } else {
            _ = Glibc.unlink(path)
        }
    }

    /// A new directory under /tmp named `prefix` and six random characters (mkdtemp(3)).
    public static func makeTemporaryDirectory(prefix: String) throws(SystemError) -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) })
        else { throw SystemError("mkdtemp", "/tmp/\(prefix)-XXXXXX", errno: errno) }
        return String(cString: made)
    }

    /// The running program's own path (readlink of /proc/self/exe), nil if unreadable.
    public static func currentExecutable() -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) {
                readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1)
            }
        }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    /// True if `path` exists (access(2) with F_OK).
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The whole content of a file: open(2), fstat(2), read(2) until end of file. At most
    /// `limit` bytes (EFBIG beyond: `/dev/zero` never ends); with `regularOnly`, anything but
    /// a regular file (a FIFO, a directory, a device) is refused with EINVAL before a byte is
    /// read, and a FIFO is opened without blocking for a writer.
    public static func readFile(_ path: String, limit: Int = Int.max, regularOnly: Bool = false)
        throws(SystemError) -> [UInt8]
    {
        let fd = try open(path, O_RDONLY | (regularOnly ? O_NONBLOCK : 0))
        defer { closeDescriptor(fd) }
        return try readAll(fd, path: path, limit: limit, regularOnly: regularOnly)
    }

    /// ``readFile(_:limit:regularOnly:)`` on a file already open for reading (`path` names it
    /// in errors); `fd` stays open.
    public static func readAll(_ fd: Int32, path: String, limit: Int = Int.max, regularOnly: Bool)
        throws(SystemError) -> [UInt8]
    {
        let info = try status(fd, path: path)
        if regularOnly && (info.st_mode & S_IFMT) != S_IFREG {
            throw SystemError(
                "read", path, errno: (info.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL)
        }
        let expected = max(Int(info.st_size), 0)
        if expected > limit { throw SystemError("read", path, errno: EFBIG) }
        var content = [UInt8](repeating: 0, count: expected + 1)
        var length = 0
        while true {
            if length == content.count {
                if length > limit { throw SystemError("read", path, errno: EFBIG) }
                content.append(contentsOf: repeatElement(0, count: 65536))
            }
            let count = try checkedCall("read", path) {
                content.withUnsafeMutableBytes { buffer in
                    Glibc.read(fd, buffer.baseAddress! + length, buffer.count - length)
                }
            }
            if count == 0 { break }
            length += count
        }
        if length > limit { throw SystemError("read", path, errno: EFBIG) }
        content.removeLast(content.count - length)
        return content
    }

    /// Up to `count` bytes from `offset` of `fd` (pread(2) until they are read or the file
    /// ends: fewer only at its end); the file position does not move.
    public static func read(_ fd: Int32, at offset: Int, count: Int, path: String)
        throws(SystemError) -> [UInt8]
    {
        var bytes = [UInt8](repeating: 0, count: count)
        var length = 0
        while length < count {
            let n = try checkedCall("pread", path) {
                bytes.withUnsafeMutableBytes { buffer in
                    pread(fd, buffer.baseAddress! + length, count - length, off_t(offset + length))
                }
            }
            if n == 0 { break }
            length += n
        }
        bytes.removeLast(count - length)
        return bytes
    }

    /// Creates or replaces `path` with `bytes` (open O_TRUNC, write everything, close).
    public static func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644)
        throws(SystemError)
    {
        let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try writeAll(fd, [bytes], path: path)
        } catch {
            closeDescriptor(fd)
            throw error
        }
        try closeChecked(fd, path)
    }

    /// Asks the kernel to start writing the file back now, so that the fsyncs that follow
    /// find their data on its way and share one journal commit. Advisory: errors are ignored,
    /// the fsync reports any real failure.
    public static func startWriteback(_ fd: Int32) {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// write(2) until every byte is written (descriptors that may block: files, pipes,
    /// blocking sockets).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String)
        throws(SystemError)
    {
        var offset = 0
        while offset < bytes.count {
            offset += try checkedCall("write", path) {
                Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            }
        }
    }

    /// writev(2) until every byte of `chunks` is written, in order, without copying them.
    public static func writeAll(_ fd: Int32, _ chunks: [[UInt8]], path: String)
        throws(SystemError)
    {
        let failure = withIOVectors(chunks) { vectors -> SystemError? in
            var first = 0
            while first < vectors.count {
                if vectors[first].iov_len == 0 {
                    first += 1
                    continue
                }
                let count = Int32(min(vectors.count - first, maximumVectors))
                var written: Int
                do throws(SystemError) {
                    written = try checkedCall("write", path) {
                        Glibc.writev(fd, vectors.baseAddress! + first, count)
                    }
                } catch {
                    return error
                }
                // Partial write: skip what went out, shorten the vector it ended in.
                while written > 0 {
                    let length = vectors[first].iov_len
                    if written >= length {
                        written -= length
                        vectors[first].iov_len = 0
                        first += 1
                    } else {
                        vectors[first].iov_base += written
                        vectors[first].iov_len -= written
                        written = 0
                    }
                }
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Runs `body` with iovecs pointing into `chunks` (valid only inside `body`).
    private static func withIOVectors<R>(
        _ chunks: [[UInt8]], _ body: (UnsafeMutableBufferPointer<iovec>) -> R
    ) -> R {
        var vectors = [iovec](repeating: iovec(), count: chunks.count)
        func nest(_ index: Int) -> R {
            if index == chunks.count { return vectors.withUnsafeMutableBufferPointer { body($0) } }
            return chunks[index].withUnsafeBytes { raw in
                vectors[index] = iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count
                )
                return nest(index + 1)
            }
        }
        return nest(0)
    }

    /// The names in a directory (without `.` and `..`), unsorted.
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else {
            throw SystemError("opendir", path, errno: errno)
        }
        return names(in: directory)
    }

    /// readdir(3) to the end, then closedir(3).
    /// XXX: names that are not UTF-8 are decoded lossily (and so cannot be opened again).
    static func names(in directory: OpaquePointer) -> [String] {
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
