import Glibc
import LinuxSystem
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

    deinit { closeDescriptor(fd) }
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
            let socketAddress = SocketAddress(address, port: port)
            let fd = try checkedCall("socket") {
                socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            }
            do throws(SystemError) {
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                _ = try socketAddress.withSockaddr { pointer, length throws(SystemError) in
                    try checkedCall("bind", socketAddress.description) { bind(fd, pointer, length) }
                }
                _ = try checkedCall("listen", socketAddress.description) { Glibc.listen(fd, 64) }
                return ProbeListener(
                    fd: fd, address: address, port: try SocketAddress.local(of: fd).port)
            } catch {
                closeDescriptor(fd)
                throw error
            }
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
    static func connectHere(to address: IPAddress, port: UInt16, timeoutMilliseconds: Int32)
        throws(SystemError) -> Bool
    {
        let fd = try checkedCall("socket") {
            socket(
                address.family,
                Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        }
        defer { closeDescriptor(fd) }
        let target = SocketAddress(address, port: port)
        let started = target.withSockaddr { Glibc.connect(fd, $0, $1) }
        if started == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = try checkedCall("poll") { poll(&poller, 1, timeoutMilliseconds) }
        guard ready == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0
    }
}

extension SocketAddress {
    /// The socket address of a netlink-side IP address.
    init(_ address: IPAddress, port: UInt16) {
        self = SocketAddress(ip: address.description, port: port)!
    }
}

extension LabProbe {
    /// True if an ICMP echo request from inside `namespace` to `address` is answered (the
    /// socket is opened there; the calling thread waits, so call it from a thread of its own). Tries a few times within the timeout (the first IPv6 request of a fresh lab
    /// waits for neighbour discovery, about 2 s: IPv6 gets at least 3 s).
    ///
    /// Equivalent to: `ping -c 1 -W 1 $address`, repeated
    static func echo(from namespace: String?, to address: IPAddress, timeoutMilliseconds: Int32)
        -> Bool
    {
        let budget = max(Int(timeoutMilliseconds), address.isIPv4 ? 0 : 3000)
        let each = max(100, min(budget, 500))
        guard let pinger = try? Pinger(in: namespace, to: address) else { return false }
        var sequence: UInt16 = 1
        let deadline = Clock.monotonicNanoseconds() + UInt64(budget) * 1_000_000
        repeat {
            do {
                if try pinger.ping(sequence: sequence, timeoutMilliseconds: each) != nil {
                    return true
                }
            } catch {
                return false  // not even sent: no route here
            }
            sequence &+= 1
        } while Clock.monotonicNanoseconds() < deadline
        return false
    }
}
