import CSystem
import Glibc

/// A socket address: IPv4, IPv6 or a unix-domain path. The project's one address type, from
/// the listener's accept to the client's connect and the lab's probes.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(host: String, port: UInt16)
    /// `scope` is the interface index of a link-local address (0 otherwise).
    case v6(host: String, port: UInt16, scope: UInt32)
    /// A unix-domain socket (a control socket); the path is at most 107 bytes.
    case unix(path: String)

    /// Parses an IP literal ("127.0.0.1", "::1"; a link-local scope is given numerically).
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

    /// The numeric host ("10.0.0.2", "fe80::1"); the path of a unix address.
    public var host: String {
        switch self {
        case .v4(let host, _), .v6(let host, _, _): host
        case .unix(let path): path
        }
    }

    /// The port (0 for a unix address).
    public var port: UInt16 {
        switch self {
        case .v4(_, let port), .v6(_, let port, _): port
        case .unix: 0
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
        case .unix: false
        }
    }

    /// True for 0.0.0.0 and :: (a socket bound there takes connections on every address).
    public var isWildcard: Bool {
        switch self {
        case .v4(let host, _): host == "0.0.0.0"
        case .v6(let host, _, _): host == "::"
        case .unix: false
        }
    }

    public func withPort(_ port: UInt16) -> SocketAddress {
        switch self {
        case .v4(let host, _): .v4(host: host, port: port)
        case .v6(let host, _, let scope): .v6(host: host, port: port, scope: scope)
        case .unix: self
        }
    }

    /// "127.0.0.1:25", "[::1]:25", "/run/smtpd.sock".
    public var description: String {
        switch self {
        case .v4(let host, let port): "\(host):\(port)"
        case .v6(let host, let port, _): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }

    /// AF_INET, AF_INET6 or AF_UNIX, for socket(2).
    public var family: Int32 {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        case .unix: AF_UNIX
        }
    }

    /// Calls `body` with this address as a `sockaddr` and its length.
    public func withSockaddr<R, E: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R
    ) throws(E) -> R {
        switch self {
        case .v4(let host, let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            _ = inet_pton(AF_INET, host, &address.sin_addr)
            return try Self.with(&address, body)
        case .v6(let host, let port, let scope):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_scope_id = scope
            _ = inet_pton(AF_INET6, host, &address.sin6_addr)
            return try Self.with(&address, body)
        case .unix(let path):
            // A leading "@" names an abstract socket (sun_path starts with NUL, no file).
            let abstract = path.hasPrefix("@")
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array((abstract ? [0] : []) + path.utf8.dropFirst(abstract ? 1 : 0))
            let count = withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let kept = bytes.prefix(raw.count - 1)
                raw.copyBytes(from: kept)
                raw[kept.count] = 0
                return kept.count
            }
            // The length covers the name only: an abstract name would otherwise take the
            // padding NULs as part of itself.
            let length = MemoryLayout<sa_family_t>.size + count + (abstract ? 0 : 1)
            return try withUnsafePointer(to: &address) { pointer throws(E) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer throws(E) in
                    try body(pointer, socklen_t(length))
                }
            }
        }
    }

    private static func with<A, R, E: Error>(
        _ address: inout A, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R
    ) throws(E) -> R {
        try withUnsafePointer(to: &address) { pointer throws(E) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer throws(E) in
                try body(pointer, socklen_t(MemoryLayout<A>.size))
            }
        }
    }

    /// Decodes a `sockaddr_storage` filled in by accept, getsockname, getpeername or
    /// getaddrinfo. An IPv4 peer of a dual-stack socket (`::ffff:a.b.c.d`) comes out as IPv4.
    public init?(decoding storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
            }
            self = .v4(
                host: Self.dottedQuad(address.sin_addr),
                port: UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
            }
            var addr = address.sin6_addr
            var host = Self.numeric(AF_INET6, &addr, Int(INET6_ADDRSTRLEN))
            let port = UInt16(bigEndian: address.sin6_port)
            if host.hasPrefix("::ffff:"), host.contains(".") {
                host.removeFirst(7)
                self = .v4(host: host, port: port)
                return
            }
            self = .v6(host: host, port: port, scope: address.sin6_scope_id)
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw in
                let start = MemoryLayout<sa_family_t>.size
                return String(
                    decoding: raw[start..<MemoryLayout<sockaddr_un>.size].prefix { $0 != 0 },
                    as: UTF8.self)
            }
            self = .unix(path: path)
        default:
            return nil
        }
    }

    /// inet_ntop's IPv4 text, written directly: every accepted session decodes its peer.
    static func dottedQuad(_ address: in_addr) -> String {
        let value = UInt32(bigEndian: address.s_addr)
        return String(unsafeUninitializedCapacity: 15) { text in
            var count = 0
            for shift in [24, 16, 8, 0] as [UInt32] {
                if shift != 24 {
                    text[count] = UInt8(ascii: ".")
                    count += 1
                }
                let octet = UInt8(truncatingIfNeeded: value >> shift)
                if octet >= 100 {
                    text[count] = 0x30 + octet / 100
                    count += 1
                }
                if octet >= 10 {
                    text[count] = 0x30 + octet / 10 % 10
                    count += 1
                }
                text[count] = 0x30 + octet % 10
                count += 1
            }
            return count
        }
    }

    private static func numeric<A>(_ family: Int32, _ address: inout A, _ size: Int) -> String {
        var text = [CChar](repeating: 0, count: size)
        _ = withUnsafePointer(to: &address) { inet_ntop(family, $0, &text, socklen_t(size)) }
        return String(
            decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address a socket is bound to (getsockname(2)).
    public static func local(of fd: Int32) throws(SystemError) -> SocketAddress {
        try query(fd, "getsockname") { getsockname(fd, $0, $1) }
    }

    /// The address a socket is connected to (getpeername(2)).
    public static func peer(of fd: Int32) throws(SystemError) -> SocketAddress {
        try query(fd, "getpeername") { getpeername(fd, $0, $1) }
    }

    private static func query(
        _ fd: Int32, _ operation: String,
        _ call: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                pointer throws(SystemError) in
                try checkedCall(operation) { call(pointer, &length) }
            }
        }
        guard let address = SocketAddress(decoding: storage) else {
            throw SystemError(operation, errno: EAFNOSUPPORT)
        }
        return address
    }
}
