import Glibc
import LinuxSystem
import MailLabTestSupport
import Synchronization
import Testing

@testable import Reactor

/// A connection whose peer is gone, or never reads, must still be closed: the loop must not
/// spin on it and its descriptor must not stay.
@Suite struct ConnectionClosingTests {
    /// A peer reset while reading is paused raised EPOLLERR/EPOLLHUP on every epoll_wait (they
    /// cannot be masked) and nothing consumed them: the loop spun at 100% CPU until the owner
    /// next wrote. The dead connection must be closed instead.
    @Test func peerResetWhileReadingIsPausedClosesTheConnection() throws {
        let flag = Flag()
        try withServing(handler: { PausingHandler(closedFlag: flag) }) { address in
            let fd = try Socket.connect(to: address)
            let hello = Array("DATA\r\n".utf8)
            _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            usleep(100_000)
            // SO_LINGER 0: close sends RST.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(
                fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            closeDescriptor(fd)
            let closed = eventually(within: 2) { flag.value.load(ordering: .relaxed) }
            #expect(closed)
        }
    }

    /// A peer that never reads kept a connection closing-after-flush open for ever: the idle
    /// timer only asked the handler, which had nothing left to say, so the descriptor, the
    /// output and the owner's session slot stayed.
    @Test func closeAfterFlushToAPeerThatNeverReadsEndsAtTheIdleTimeout() throws {
        let flag = Flag()
        try withServing(
            idleNanoseconds: 100_000_000, handler: { FloodThenClose(closedFlag: flag) }
        ) { address in
            let fd = try Socket.connect(to: address)
            defer { closeDescriptor(fd) }
            let hello = Array("x".utf8)
            _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let closed = eventually(within: 1.5) { flag.value.load(ordering: .relaxed) }
            #expect(closed)
        }
    }

    /// A closed connection is freed at once, though its idle timer (an hour away) stays in
    /// the loop's heap until a compaction: the cancel drops the timer's closure, the only
    /// thing left holding the connection.
    @Test func aClosedConnectionIsFreedLongBeforeItsIdleTimerIsDue() throws {
        let probe = ConnectionProbe()
        try withServing(idleNanoseconds: 3_600_000_000_000, handler: { probe }) { address in
            let fd = try Socket.connect(to: address)
            let hello = Array("x".utf8)
            _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            #expect(eventually(within: 2) { probe.state.withLock { $0.seen } })
            closeDescriptor(fd)
            #expect(eventually(within: 2) { probe.state.withLock { $0.closed } })
            let freed = eventually(within: 2) {
                probe.state.withLock { $0.connection?.value == nil }
            }
            #expect(freed, "the closed connection is still alive")
        }
    }
}

/// Remembers its connection weakly: nil again once the connection is freed.
private final class ConnectionProbe: ConnectionHandler, Sendable {
    /// @unchecked: written once on the loop before `seen`, read after it.
    final class WeakConnection: @unchecked Sendable {
        weak var value: Connection?
        init(_ value: Connection) { self.value = value }
    }
    struct State {
        var connection: WeakConnection?
        var seen = false
        var closed = false
    }
    let state = Mutex(State())
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        let remembered = WeakConnection(connection)
        state.withLock {
            $0.connection = remembered
            $0.seen = true
        }
    }
    func inputEnded(on connection: Connection) { connection.close() }
    func idle(_ connection: Connection) {}
    func closed(_ connection: Connection) { state.withLock { $0.closed = true } }
}

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Pauses reading on the first bytes, as a session does while its delivery is pending, and
/// keeps the connection open when input ends (the reply is still owed).
private final class PausingHandler: ConnectionHandler {
    let closedFlag: Flag
    init(closedFlag: Flag) { self.closedFlag = closedFlag }
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        connection.setReading(false)
    }
    func inputEnded(on connection: Connection) {}
    func idle(_ connection: Connection) {}
    func closed(_ connection: Connection) { closedFlag.value.store(true, ordering: .relaxed) }
}

/// Answers the first bytes with more than the socket buffers hold, then closes after the
/// flush; ignores `idle`, as a session that already closed does.
private final class FloodThenClose: ConnectionHandler {
    let closedFlag: Flag
    init(closedFlag: Flag) { self.closedFlag = closedFlag }
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        connection.write([UInt8](repeating: 0x41, count: 32 << 20))
        connection.close(afterFlush: true)
    }
    func inputEnded(on connection: Connection) {}
    func idle(_ connection: Connection) {}
    func closed(_ connection: Connection) { closedFlag.value.store(true, ordering: .relaxed) }
}
