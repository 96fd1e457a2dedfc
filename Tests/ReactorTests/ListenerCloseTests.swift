import Glibc
import Synchronization
import Testing

@testable import Reactor

/// `Listener.close` must release exactly its own descriptor, once, whatever the loops are
/// doing: a descriptor number is reused by the next socket, so a late or second close (or a
/// late registration) would act on someone else's socket.
@Suite struct ListenerCloseTests {
    /// `Listener.start` registers its acceptors later, on each loop; a `close` that ran first saw
    /// no acceptor, closed the socket at once, and the late acceptor then registered whatever
    /// descriptor now had that number (here: the next listener), accepting its clients.
    @Test func closeBeforeTheLoopsRegisteredLeavesNoAcceptor() throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        // Hold the loop so that `start`'s registration is still queued when `close` runs.
        loop.execute { usleep(200_000) }
        usleep(20_000)
        let first = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
        let strayAccepts = Flag()
        first.start(
            on: [loop],
            accepted: { fd, _, _ in
                strayAccepts.value.store(true, ordering: .relaxed)
                closeDescriptor(fd)
            }, failed: { _ in })
        first.close()
        // Most likely reuses the descriptor number `first` had.
        let second = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
        defer { second.close() }
        usleep(300_000)
        let client = try Socket.connect(to: second.address)
        defer { closeDescriptor(client) }
        usleep(200_000)
        let stray = strayAccepts.value.load(ordering: .relaxed)
        #expect(!stray)
    }

    @Test func closingAListenerTwiceLeavesALaterSocketAlone() throws {
        let first = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
        first.close()
        // The next socket most likely reuses the descriptor number the first one had.
        let second = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
        defer { second.close() }
        first.close()
        let client = try Socket.connect(to: second.address)
        closeDescriptor(client)
    }
}

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
