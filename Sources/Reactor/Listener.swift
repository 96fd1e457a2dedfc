import CSystem
import Glibc
import LinuxSystem
import Synchronization

/// A listening TCP socket shared by several loops. Each loop registers it with
/// EPOLLEXCLUSIVE, so one incoming connection wakes one loop, which accepts it and keeps it:
/// sessions spread over the loops without a hand-off between threads.
public final class Listener: Sendable {
    public let address: SocketAddress
    private let fd: Int32
    private let acceptors = Mutex<Acceptors>(Acceptors())

    /// `closed`: a registration `start` queued that runs after `close` must not register a
    /// descriptor that is closed (or reused) by then.
    private struct Acceptors {
        var byLoop: [ObjectIdentifier: Acceptor] = [:]
        var closed = false
    }

    /// Binds and listens (backlog 511; OpenSMTPD's 5 lets a burst of clients wait seconds).
    /// `freeBind`: see `Socket.listen`.
    public init(address: SocketAddress, backlog: Int32 = 511, freeBind: Bool = false)
        throws(SystemError)
    {
        let (fd, bound) = try Socket.listen(on: address, backlog: backlog, freeBind: freeBind)
        self.fd = fd
        self.address = bound
    }

    /// A socket bound and listening already (by a privileged parent before it started this
    /// process: the process split), owned from now on.
    public init(adopting fd: Int32) throws(SystemError) {
        self.address = try SocketAddress.local(of: fd)
        self.fd = fd
    }

    /// The listening socket, for handing it to a process that adopts it.
    public var descriptor: Int32 { fd }

    /// Starts accepting on every loop. `accepted` runs on the loop that accepted; `failed`
    /// hears about accept errors such as running out of descriptors (accepting then pauses
    /// for a moment instead of spinning).
    public func start(
        on loops: [EventLoop],
        accepted: @escaping @Sendable (Int32, SocketAddress, EventLoop) -> Void,
        failed: @escaping @Sendable (SystemError) -> Void
    ) {
        for loop in loops {
            loop.execute { [self] in
                let acceptor = Acceptor(fd: fd, loop: loop, accepted: accepted, failed: failed)
                let added = acceptors.withLock { state -> Bool in
                    guard !state.closed else { return false }
                    state.byLoop[ObjectIdentifier(loop)] = acceptor
                    return true
                }
                if added { acceptor.enable() }
            }
        }
    }

    /// Stops accepting on every loop, then closes the socket. Returns once done.
    public func close() {
        let loops = acceptors.withLock { state -> [Acceptor]? in
            // Idempotent: a second close must not close a descriptor number reused meanwhile.
            guard !state.closed else { return nil }
            state.closed = true
            return Array(state.byLoop.values)
        }
        guard let loops else { return }
        let remaining = Atomic<Int>(loops.count)
        let done = Mutex<Bool>(false)
        for acceptor in loops {
            acceptor.loop.execute {
                acceptor.disable(permanently: true)
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                    done.withLock { $0 = true }
                }
            }
        }
        // Loops answer within one iteration; wait without holding any loop.
        while !loops.isEmpty && !done.withLock({ $0 }) { Clock.sleep(seconds: 0.001) }
        closeDescriptor(fd)
    }
}

/// The per-loop side of a listener. Loop-confined.
private final class Acceptor: Selectable, @unchecked Sendable {
    let fd: Int32
    let loop: EventLoop
    let accepted: @Sendable (Int32, SocketAddress, EventLoop) -> Void
    let failed: @Sendable (SystemError) -> Void
    private var token: UInt64?
    private var closed = false
    static let acceptsPerEvent = 32

    init(
        fd: Int32, loop: EventLoop,
        accepted: @escaping @Sendable (Int32, SocketAddress, EventLoop) -> Void,
        failed: @escaping @Sendable (SystemError) -> Void
    ) {
        self.fd = fd
        self.loop = loop
        self.accepted = accepted
        self.failed = failed
    }

    func enable() {
        guard token == nil, !closed else { return }
        do {
            token = try loop.register(fd, interest: .acceptExclusive, handler: self)
        } catch {
            failed(error)
        }
    }

    func disable(permanently: Bool) {
        if permanently { closed = true }
        if let token {
            loop.deregister(fd, token: token)
            self.token = nil
        }
    }

    func ready(_ readiness: Readiness) {
        for _ in 0..<Self.acceptsPerEvent {
            do {
                guard let (client, peer) = try Socket.accept(fd) else { return }
                accepted(client, peer, loop)
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO, EPERM:
                    continue  // that one client is gone; others may wait
                default:
                    // EMFILE/ENFILE/ENOBUFS/ENOMEM: pause rather than spin on a full table.
                    failed(error)
                    disable(permanently: false)
                    loop.schedule(after: 100_000_000) { [self] in enable() }
                    return
                }
            }
        }
    }
}
