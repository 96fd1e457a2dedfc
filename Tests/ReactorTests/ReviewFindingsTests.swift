import Glibc
import Synchronization
import Testing

@testable import Reactor

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

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// A peer reset while reading is paused raised EPOLLERR/EPOLLHUP on every epoll_wait (they
/// cannot be masked) and nothing consumed them: the loop spun at 100% CPU until the owner
/// next wrote. The dead connection must be closed instead.
@Test func peerResetWhileReadingIsPausedClosesTheConnection() throws {
    let group = try EventLoopGroup(count: 1)
    defer { group.shutdown() }
    let listener = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
    defer { listener.close() }
    let flag = Flag()
    listener.start(
        on: group.loops,
        accepted: { fd, peer, loop in
            let connection = Connection(fd: fd, peer: peer, local: peer, loop: loop)
            try? connection.start(
                handler: PausingHandler(closedFlag: flag), idleTimeoutNanoseconds: 0)
        }, failed: { _ in })
    let fd = try Socket.connect(to: listener.address)
    let hello = Array("DATA\r\n".utf8)
    _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    usleep(100_000)
    // SO_LINGER 0: close sends RST.
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    closeDescriptor(fd)
    var waited = 0
    while !flag.value.load(ordering: .relaxed) && waited < 200 {
        usleep(10_000)
        waited += 1
    }
    let closed = flag.value.load(ordering: .relaxed)
    #expect(closed)
}
