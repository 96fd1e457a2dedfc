import Glibc

import LinuxSystem
@testable import Reactor

/// Serves 127.0.0.1 on a free port with `loops` event loops; every accepted connection gets
/// the handler `makeHandler` returns, and `prepare` may act on the started connection (start
/// TLS, say). Everything is torn down when `body` returns.
func withServing(
    loops: Int = 1, idleNanoseconds: UInt64 = 0,
    handler makeHandler: @escaping @Sendable () -> any ConnectionHandler,
    prepare: @escaping @Sendable (Connection) -> Void = { _ in },
    _ body: (SocketAddress) throws -> Void
) throws {
    let group = try EventLoopGroup(count: loops)
    defer { group.shutdown() }
    let listener = try Listener(address: SocketAddress(ip: "127.0.0.1", port: 0)!)
    defer { listener.close() }
    listener.start(
        on: group.loops,
        accepted: { fd, peer, loop in
            let connection = Connection(fd: fd, peer: peer, local: peer, loop: loop)
            try? connection.start(handler: makeHandler(), idleTimeoutNanoseconds: idleNanoseconds)
            prepare(connection)
        }, failed: { _ in })
    try body(listener.address)
}
