import CSystem
import Glibc
import LinuxSystem

/// Socket system calls, each wrapped once.
public enum Socket {
    /// A non-blocking, close-on-exec TCP socket bound to `address` and listening.
    /// `SO_REUSEADDR` so a restarted server binds at once; IPv6 sockets are v6-only so that
    /// IPv4 and IPv6 listeners on one port do not clash. `freeBind` sets `IP_FREEBIND`: the
    /// bind succeeds for an address that is not (yet) usable, such as an IPv6 address still
    /// tentative during duplicate address detection.
    public static func listen(
        on address: SocketAddress, backlog: Int32 = 511, freeBind: Bool = false
    )
        throws(SystemError) -> (fd: Int32, bound: SocketAddress)
    {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let fd = try checkedCall("socket") { Glibc.socket(address.family, type, 0) }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, name: "SO_REUSEADDR")
            if address.isIPv6 {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, name: "IPV6_V6ONLY")
            }
            if freeBind {
                try setOption(fd, Int32(IPPROTO_IP), IP_FREEBIND, 1, name: "IP_FREEBIND")
            }
            try address.withSockaddr { pointer, length throws(SystemError) in
                _ = try checkedCall("bind \(address)") { Glibc.bind(fd, pointer, length) }
            }
            _ = try checkedCall("listen \(address)") { Glibc.listen(fd, backlog) }
            return (fd, try SocketAddress.local(of: fd))
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// A blocking TCP connection to `address` (for clients and tests).
    public static func connect(to address: SocketAddress) throws(SystemError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue)
        let fd = try checkedCall("socket") { Glibc.socket(address.family, type, 0) }
        do {
            try address.withSockaddr { pointer, length throws(SystemError) in
                _ = try checkedCall("connect \(address)") { Glibc.connect(fd, pointer, length) }
            }
            return fd
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; nil when nothing is pending.
    public static func accept(_ fd: Int32) throws(SystemError) -> (fd: Int32, peer: SocketAddress)?
    {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let client = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                pointer throws(SystemError) in
                try systemCall("accept4", blocking: true) {
                    csystem_accept4(fd, pointer, &length, flags)
                }
            }
        }
        guard let client else { return nil }
        guard let peer = SocketAddress(decoding: storage) else {
            closeDescriptor(client)
            return nil
        }
        return (client, peer)
    }

    static func setOption(
        _ fd: Int32, _ level: Int32, _ option: Int32, _ value: Int32, name: String
    )
        throws(SystemError)
    {
        var value = value
        _ = try checkedCall("setsockopt \(name)") {
            setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }
}
