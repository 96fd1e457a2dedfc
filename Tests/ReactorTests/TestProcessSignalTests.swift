import Glibc
import Testing

/// The test binary ignores SIGPIPE (Tests/TestProcessSignals): a test writing to a server that
/// closed on purpose gets EPIPE instead of killing the whole run.
struct TestProcessSignalTests {
    @Test func aWriteToAClosedPeerIsEPIPENotSIGPIPE() {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        close(fds[1])
        defer { close(fds[0]) }
        let byte: [UInt8] = [1]
        // Plain write(2), no MSG_NOSIGNAL: what Foundation's FileHandle and older test code do.
        let written = write(fds[0], byte, 1)
        #expect(written == -1 && errno == EPIPE)
    }
}
