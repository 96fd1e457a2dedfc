import ArgumentParser
import Glibc

/// Reads a whole file as UTF-8 with plain libc: importing Foundation would pull in ICU and
/// add tens of milliseconds to every start of mlab.
func readTextFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw ValidationError("\(path): cannot read: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 {
            if errno == EINTR { continue }
            throw ValidationError("\(path): cannot read: \(String(cString: strerror(errno)))")
        }
        if count == 0 { break }
        bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
