import ArgumentParser
import LinuxSystem

/// Reads a whole file as UTF-8 (plain libc underneath: importing Foundation would pull in ICU
/// and add tens of milliseconds to every start of mlab).
func readTextFile(_ path: String) throws -> String {
    do {
        return String(decoding: try FileSystem.readFile(path), as: UTF8.self)
    } catch {
        throw ValidationError("\(path): cannot read: \(error.reason)")
    }
}

/// Writes everything to a standard descriptor, unbuffered (so that transcripts, `--raw`
/// bytes and messages interleave in order). A closed stream is not an error worth reporting.
func writeToDescriptor(_ fd: Int32, _ bytes: [UInt8]) {
    try? FileSystem.writeAll(fd, [bytes], path: fd == 1 ? "standard output" : "standard error")
}
