import Glibc
import LinuxSystem
import Reactor
import SMTPProtocol

/// `listen … proxy-v2`: the first handler of a connection, reading the PROXY protocol v2
/// header a load balancer sends before anything else (OpenSMTPD's proxy.c). Once the header
/// is whole, `proceed` gets the client's real address (nil for LOCAL: the connection's own)
/// and the bytes after the header, and puts the SMTP session in its place; until then no
/// banner is sent. A bad header, an end of input or the idle timeout closes the connection,
/// logged with OpenSMTPD's reason. Loop-confined.
final class ProxyPreface: ConnectionHandler, @unchecked Sendable {
    private let core: ServerCore
    private let proceed: (Connection, SocketAddress?, [UInt8]) -> Void
    private var buffer: [UInt8] = []
    private var handedOver = false

    init(core: ServerCore, proceed: @escaping (Connection, SocketAddress?, [UInt8]) -> Void) {
        self.core = core
        self.proceed = proceed
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        guard !handedOver else { return }
        buffer += bytes
        let header: ProxyHeader
        do throws(ProxyHeader.Failure) {
            guard let parsed = try ProxyHeader.parse(buffer) else { return }
            header = parsed
        } catch {
            drop(connection, reason: error.reason)
            return
        }
        handedOver = true
        let rest = Array(buffer[header.length...])
        buffer = []
        proceed(connection, header.source.map { Self.address($0, port: connection.peer) }, rest)
    }

    func inputEnded(on connection: Connection) { drop(connection, reason: "disconnected") }

    func idle(_ connection: Connection) { drop(connection, reason: "timeout") }

    func closed(_ connection: Connection) {
        // Handed over, the session's handler accounts for the connection.
        if !handedOver { core.activeSessions.subtract(1, ordering: .relaxed) }
    }

    private func drop(_ connection: Connection, reason: String) {
        guard !handedOver else { return }
        core.log(
            ["proxy event=closed address=\(connection.peer.host) reason=\"\(reason)\""],
            on: connection.loop)
        connection.close(afterFlush: false)
    }

    /// The client's address as the rest of the server knows addresses.
    static func address(_ source: ProxyHeader.Source, port peer: SocketAddress) -> SocketAddress {
        switch source {
        case .inet(let bytes, let port):
            return .v4(host: bytes.map(String.init).joined(separator: "."), port: port)
        case .inet6(let bytes, let port):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            let host = String(
                decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .v6(host: host, port: port, scope: 0)
        case .unix(let path):
            return .unix(path: String(decoding: path, as: UTF8.self))
        }
    }
}
