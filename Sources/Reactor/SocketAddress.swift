import CSystem
import Glibc

/// An IPv4 or IPv6 socket address.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(host: String, port: UInt16)
    /// `scope` is the interface index of a link-local address (0 otherwise).
    case v6(host: String, port: UInt16, scope: UInt32)

    /// Parses an IP literal ("127.0.0.1", "::1", "fe80::1%bbb" with a numeric scope only).
    public init?(ip: String, port: UInt16, scope: UInt32 = 0) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            self = .v4(host: ip, port: port)
        } else if inet_pton(AF_INET6, ip, &v6) == 1 {
            self = .v6(host: ip, port: port, scope: scope)
        } else {
            return nil
        }
    }

    public var host: String {
        switch self {
        case .v4(let host, _), .v6(let host, _, _): host
        }
    }

    public var port: UInt16 {
        switch self {
        case .v4(_, let port), .v6(_, let port, _): port
        }
    }

    public var isIPv6: Bool {
        if case .v6 = self { true } else { false }
    }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let host, _): host.hasPrefix("127.")
        case .v6(let host, _, _): host == "::1"
        }
    }

    public func withPort(_ port: UInt16) -> SocketAddress {
        switch self {
        case .v4(let host, _): .v4(host: host, port: port)
        case .v6(let host, _, let scope): .v6(host: host, port: port, scope: scope)
        }
    }

    /// "127.0.0.1:25", "[::1]:25".
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    var family: Int32 { isIPv6 ? AF_INET6 : AF_INET }

    /// Calls `body` with this address as a `sockaddr`.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R)
        throws(SystemError) -> R
    {
        switch self {
        case .v4(let host, let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            _ = inet_pton(AF_INET, host, &address.sin_addr)
            return try withUnsafePointer(to: &address) { pointer throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    pointer throws(SystemError) in
                    try body(pointer, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let host, let port, let scope):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_scope_id = scope
            _ = inet_pton(AF_INET6, host, &address.sin6_addr)
            return try withUnsafePointer(to: &address) { pointer throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    pointer throws(SystemError) in
                    try body(pointer, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Decodes a `sockaddr_storage` filled in by accept/getsockname/getpeername.
    public init?(decoding storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
            }
            var addr = address.sin_addr
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
            self = .v4(
                host: String(
                    decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                port: UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
            }
            var addr = address.sin6_addr
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
            var host = String(
                decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // An IPv4 client on a dual-stack socket: show it as IPv4.
            if host.hasPrefix("::ffff:"), host.contains(".") {
                host.removeFirst(7)
                self = .v4(host: host, port: UInt16(bigEndian: address.sin6_port))
                return
            }
            self = .v6(
                host: host, port: UInt16(bigEndian: address.sin6_port), scope: address.sin6_scope_id
            )
        default:
            return nil
        }
    }
}
