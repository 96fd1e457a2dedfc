import Glibc
import Namespaces
public import Netlink

/// A TCP listener created inside a namespace (the socket belongs to it for life).
/// Close it before deleting the namespace: an open socket keeps the namespace alive.
public final class ProbeListener: Sendable {
    public let fd: Int32
    public let address: IPAddress
    public let port: UInt16

    init(fd: Int32, address: IPAddress, port: UInt16) {
        self.fd = fd
        self.address = address
        self.port = port
    }

    deinit { close(fd) }
}

/// Reachability probes without ICMP: a TCP listener in one namespace, a connect from a thread
/// inside another. A completed handshake proves the path both ways.
public enum LabProbe {
    /// Listens on `address`:`port` (0: any free port) inside `namespace`.
    ///
    /// Equivalent to: `ip netns exec $namespace nc -l $address $port`
    public static func listen(in namespace: String?, address: IPAddress, port: UInt16 = 0) throws
        -> ProbeListener
    {
        try NetworkNamespace.run(in: namespace) { () throws -> ProbeListener in
            let operation = "ip netns exec \(namespace ?? "(self)") nc -l \(address) \(port)"
            let fd = socket(
                address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { throw NetlinkError(operation: "\(operation): socket", errno: errno) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = withSocketAddress(address, port) { bind(fd, $0, $1) }
            if bound != 0 || Glibc.listen(fd, 64) != 0 {
                let saved = errno
                close(fd)
                throw NetlinkError(operation: "\(operation): bind/listen", errno: saved)
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getsockname(fd, $0, &length)
                }
            }
            // sin_port and sin6_port sit at the same offset.
            let actual = withUnsafeBytes(of: storage) {
                UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            }
            return ProbeListener(fd: fd, address: address, port: actual)
        }
    }

    /// True if a TCP connection from inside `namespace` to `address`:`port` completes within
    /// `timeoutMilliseconds`.
    ///
    /// Equivalent to: `ip netns exec $namespace nc -z -w 1 $address $port`
    public static func connect(
        from namespace: String?, to address: IPAddress, port: UInt16,
        timeoutMilliseconds: Int32 = 500
    ) throws -> Bool {
        try NetworkNamespace.run(in: namespace) { () throws -> Bool in
            try connectHere(to: address, port: port, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// The connect probe on the calling thread, in whatever namespace it is in.
    static func connectHere(to address: IPAddress, port: UInt16, timeoutMilliseconds: Int32) throws
        -> Bool
    {
        let fd = socket(
            address.family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw NetlinkError(operation: "socket", errno: errno) }
        defer { close(fd) }
        let started = withSocketAddress(address, port) { Glibc.connect(fd, $0, $1) }
        if started == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&poller, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        guard ready == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0
    }

    static func withSocketAddress<R>(
        _ address: IPAddress, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) -> R {
        switch address {
        case .v4(let value):
            var storage = sockaddr_in()
            storage.sin_family = sa_family_t(AF_INET)
            storage.sin_port = port.bigEndian
            storage.sin_addr.s_addr = value.bigEndian
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let bytes):
            var storage = sockaddr_in6()
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
