import Glibc
import LinuxSystem
import Testing

@Suite struct FileSystemTests {
    private func scratch() -> String {
        var template = Array("/tmp/linuxsystem-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer {
            String(cString: mkdtemp($0.baseAddress!)!)
        }
    }

    @Test func readFileReturnsTheWholeContentWrittenByWriteFile() throws {
        let directory = scratch()
        defer { _ = rmdir(directory) }
        let path = directory + "/f"
        defer { unlink(path) }
        let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try FileSystem.writeFile(path, content)
        #expect(try FileSystem.readFile(path) == content)
    }

    @Test func readFileRefusesMoreThanTheLimitEvenWhenTheSizeIsUnknown() throws {
        #expect(throws: SystemError("read", "/dev/zero", errno: EFBIG)) {
            try FileSystem.readFile("/dev/zero", limit: 100_000)
        }
    }

    @Test func readFileWithRegularOnlyRefusesADirectoryAFifoAndADevice() throws {
        let directory = scratch()
        let fifo = directory + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer {
            unlink(fifo)
            rmdir(directory)
        }
        #expect(throws: SystemError("read", directory, errno: EISDIR)) {
            try FileSystem.readFile(directory, regularOnly: true)
        }
        // Opened without blocking for a writer, refused before any read.
        #expect(throws: SystemError("read", fifo, errno: EINVAL)) {
            try FileSystem.readFile(fifo, regularOnly: true)
        }
        #expect(throws: SystemError("read", "/dev/null", errno: EINVAL)) {
            try FileSystem.readFile("/dev/null", regularOnly: true)
        }
    }

    @Test func errorsNameTheOperationTheObjectAndTheReason() {
        #expect(throws: SystemError("open", "/nonexistent/x", errno: ENOENT)) {
            try FileSystem.readFile("/nonexistent/x")
        }
        #expect(
            SystemError("fsync", "/m/tmp/x", errno: ENOSPC).description
                == "fsync /m/tmp/x: No space left on device")
        #expect(SystemError("socket", errno: EMFILE).description == "socket: Too many open files")
    }

    @Test func writevWritesEveryChunkInOrderPastTheVectorLimit() throws {
        let directory = scratch()
        defer { _ = rmdir(directory) }
        let path = directory + "/v"
        defer { unlink(path) }
        let chunks = (0..<3000).map { [UInt8(truncatingIfNeeded: $0), 0x0A] } + [[]]
        let fd = try FileSystem.open(path, O_WRONLY | O_CREAT, mode: 0o600)
        try FileSystem.writeAll(fd, chunks, path: path)
        try closeChecked(fd, path)
        #expect(try FileSystem.readFile(path) == chunks.flatMap { $0 })
    }
}
