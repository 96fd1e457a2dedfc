import CSystem
import Glibc

/// Each system call the module makes, wrapped once: typed errors carrying operation + path,
/// EINTR retried (never for `close`).
enum Sys {
    /// IOV_MAX (UIO_MAXIOV) on Linux; Glibc does not export the macro.
    private static let maximumVectors = 1024

    private static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }

    private static func check(
        _ operation: String, _ path: String, _ call: () -> Int32
    ) throws(MaildirError) -> Int32 {
        let result = retrying(call)
        if result < 0 { throw MaildirError(operation: operation, path: path, errno: errno) }
        return result
    }

    /// open(2) with a creation mode.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(MaildirError) -> Int32
    {
        try check("open", path) { csystem_open_mode(path, flags | O_CLOEXEC, mode) }
    }

    static func fsync(_ fd: Int32, path: String) throws(MaildirError) {
        _ = try check("fsync", path) { Glibc.fsync(fd) }
    }

    /// fsync(2) with the failure as a value (nil: durable).
    static func fsyncFailure(_ fd: Int32, path: String) -> MaildirError? {
        do {
            try fsync(fd, path: path)
            return nil
        } catch {
            return error
        }
    }

    /// syncfs(2) followed by fsync(2) of the same descriptor.
    ///
    /// syncfs alone is not a durability barrier on every file system: Linux's
    /// sync_filesystem() ends with sync_blockdev() *after* ext4's cache flush, so on ext4
    /// without a journal (like this project's machines) the inode and directory blocks it writes
    /// last may sit in the disk's volatile cache. The fsync issues the flush after them (and is
    /// cheap: everything is clean by then).
    static func syncFileSystem(_ fd: Int32, path: String) throws(MaildirError) {
        _ = try check("syncfs", path) { csystem_syncfs(fd) }
        try fsync(fd, path: path)
    }

    static func rename(_ from: String, _ to: String) throws(MaildirError) {
        _ = try check("rename", to) { Glibc.rename(from, to) }
    }

    /// link(2): fails with EEXIST rather than replace `to`.
    static func link(_ from: String, _ to: String) throws(MaildirError) {
        _ = try check("link", to) { Glibc.link(from, to) }
    }

    static func mkdir(_ path: String, mode: mode_t) throws(MaildirError) {
        _ = try check("mkdir", path) { Glibc.mkdir(path, mode) }
    }

    static func unlink(_ path: String) throws(MaildirError) {
        _ = try check("unlink", path) { Glibc.unlink(path) }
    }

    /// stat(2)
    static func status(_ path: String) throws(MaildirError) -> Glibc.stat {
        var info = Glibc.stat()
        _ = try check("stat", path) { stat(path, &info) }
        return info
    }

    /// fstat(2)
    static func status(_ fd: Int32, path: String) throws(MaildirError) -> Glibc.stat {
        var info = Glibc.stat()
        _ = try check("stat", path) { Glibc.fstat(fd, &info) }
        return info
    }

    /// The whole content of a file: open(2), fstat(2), read(2) until end of file.
    static func readFile(_ path: String) throws(MaildirError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { _ = Glibc.close(fd) }
        let expected = Int(try status(fd, path: path).st_size)
        var content = [UInt8](repeating: 0, count: max(expected, 0) + 1)
        var length = 0
        while true {
            if length == content.count {
                content.append(contentsOf: repeatElement(0, count: 65536))
            }
            let count = content.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + length, buffer.count - length)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw MaildirError(operation: "read", path: path, errno: errno)
            }
            if count == 0 { break }
            length += count
        }
        content.removeLast(content.count - length)
        return content
    }

    /// close(2), not retried: after EINTR the descriptor is already gone on Linux.
    static func close(_ fd: Int32, path: String) throws(MaildirError) {
        if Glibc.close(fd) != 0 && errno != EINTR {
            throw MaildirError(operation: "close", path: path, errno: errno)
        }
    }

    /// Asks the kernel to start writing the file back now, so that the fsyncs that follow
    /// find their data on its way and share one journal commit. Advisory: errors are ignored,
    /// the fsync reports any real failure. (posix_fadvise DONTNEED starts writeback of dirty
    /// pages; sync_file_range is not reachable from Glibc without _GNU_SOURCE.)
    static func startWriteback(_ fd: Int32) {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// writev(2) until every byte of `chunks` is written, in order, without copying them.
    static func writeAll(_ fd: Int32, _ chunks: [[UInt8]], path: String) throws(MaildirError) {
        let failure: Int32 = withIOVectors(chunks) { vectors in
            var first = 0
            while first < vectors.count {
                if vectors[first].iov_len == 0 {
                    first += 1
                    continue
                }
                let count = Int32(min(vectors.count - first, maximumVectors))
                var written = Glibc.writev(fd, vectors.baseAddress! + first, count)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
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
            return 0
        }
        if failure != 0 { throw MaildirError(operation: "write", path: path, errno: failure) }
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
}
