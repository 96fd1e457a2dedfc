import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import Synchronization
import Testing

@testable import Reactor

/// `Listener.close` must release exactly its own descriptor, once, whatever the loops are
/// doing: the kernel hands a closed descriptor number to the next socket, so a late or second
/// close (or a late registration) would act on someone else's socket.
///
/// Both tests make sure that the next listener's socket has the number the closed one had
/// (the kernel usually gives it; else a duplicate is put there with `F_DUPFD`, which takes
/// that number only if it is free) instead of hoping for it: in a test process other
/// threads open and close descriptors all the time.
@Suite struct ListenerCloseTests {
    /// `Listener.start` registers its acceptors later, on each loop; a `close` that ran first saw
    /// no acceptor, closed the socket at once, and the late acceptor then registered whatever
    /// descriptor now had that number (here: the next listener), accepting its clients.
    @Test func closeBeforeTheLoopsRegisteredLeavesNoAcceptor() throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        // Hold the loop so that `start`'s registration is still queued when `close` runs.
        let gate = Gate()
        defer { gate.open() }
        loop.execute { gate.wait() }
        let strayAccepts = Flag()
        try withClosedDescriptorReused(prepare: { first in
            first.start(
                on: [loop],
                accepted: { fd, _, _ in
                    strayAccepts.value.store(true, ordering: .relaxed)
                    closeDescriptor(fd)
                }, failed: { _ in })
        }) { _, number, second in
            // Let the queued registration run; work queued after it runs after it.
            gate.open()
            let drained = Flag()
            loop.execute { drained.value.store(true, ordering: .relaxed) }
            #expect(eventually(within: 2) { drained.value.load(ordering: .relaxed) })
            // `second` accepts on no loop: only a stray acceptor on `number` could take this.
            let client = try Socket.connect(to: second.address)
            defer { closeDescriptor(client) }
            let stray = eventually(within: 0.5) { strayAccepts.value.load(ordering: .relaxed) }
            #expect(!stray, "the closed listener's acceptor accepted on descriptor \(number)")
        }
    }

    @Test func closingAListenerTwiceLeavesALaterSocketAlone() throws {
        try withClosedDescriptorReused { first, number, second in
            first.close()
            #expect(fcntl(number, F_GETFD) != -1, "the second close closed descriptor \(number)")
            #expect(listeningPort(of: number) == second.address.port)
        }
    }
}

/// Makes a listener, lets `prepare` act on it, closes it, and runs `body` with that listener,
/// the number its descriptor had, and a second listener whose socket now has that number.
/// Tries again when another thread took the number first (rare: one attempt is usually
/// enough); records an issue if it never comes free, as nothing would be tested.
private func withClosedDescriptorReused(
    prepare: (Listener) -> Void = { _ in },
    _ body: (_ closed: Listener, _ number: Int32, _ next: Listener) throws -> Void
) throws {
    let attempts = 50
    for _ in 0..<attempts {
        let first = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
        let number = try #require(listeningDescriptor(on: first.address))
        prepare(first)
        first.close()
        #expect(listeningDescriptor(on: first.address) == nil, "close released the socket")
        let second = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
        defer { second.close() }
        guard let reused = try occupy(number, withTheSocketOf: second) else { continue }
        defer { reused.release() }
        try body(first, number, second)
        return
    }
    Issue.record("descriptor number never free again in \(attempts) attempts: nothing tested")
}

/// The descriptor of this process that listens on `address`'s TCP port, if any.
private func listeningDescriptor(on address: SocketAddress) -> Int32? {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return names.compactMap { Int32($0) }.first { listeningPort(of: $0) == address.port }
}

/// The IPv4 port `fd` listens on; nil if it is not a listening IPv4 socket.
private func listeningPort(of fd: Int32) -> UInt16? {
    var listening: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening == 1
    else { return nil }
    var address = sockaddr_in()
    var addressLength = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(fd, $0, &addressLength) == 0
        }
    }
    guard named, address.sin_family == sa_family_t(AF_INET) else { return nil }
    return UInt16(bigEndian: address.sin_port)
}

/// Descriptor `number`, just freed, made to refer to `listener`'s socket: it does already
/// when the kernel gave the listener that number; otherwise a duplicate is put there
/// (`F_DUPFD` gives the lowest free number from `number` on). nil: another thread took it.
private func occupy(_ number: Int32, withTheSocketOf listener: Listener) throws -> Reuse? {
    let fd = try #require(listeningDescriptor(on: listener.address))
    if fd == number { return Reuse(number: number, isDuplicate: false) }
    let duplicate = fcntl(fd, F_DUPFD_CLOEXEC, number)
    try #require(duplicate >= 0, "F_DUPFD: errno \(errno)")
    if duplicate == number { return Reuse(number: number, isDuplicate: true) }
    closeDescriptor(duplicate)
    return nil
}

private struct Reuse {
    let number: Int32
    let isDuplicate: Bool
    /// Closes the duplicate, if one was made (the listener closes its own descriptor).
    func release() { if isDuplicate { closeDescriptor(number) } }
}

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Holds a loop until opened.
private final class Gate: Sendable {
    private let isOpen = Atomic<Bool>(false)
    func open() { isOpen.store(true, ordering: .releasing) }
    func wait() { while !isOpen.load(ordering: .acquiring) { usleep(1000) } }
}
