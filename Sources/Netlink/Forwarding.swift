import Glibc

/// IP forwarding of one namespace (`net.ipv4.ip_forward`, `net.ipv6.conf.all.forwarding`).
public struct Forwarding: Sendable, Hashable {
    public var ipv4: Bool
    public var ipv6: Bool

    public init(ipv4: Bool, ipv6: Bool) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }
}

extension NetworkNamespace {
    static let ipv4ForwardingPath = "/proc/sys/net/ipv4/ip_forward"
    static let ipv6ForwardingPath = "/proc/sys/net/ipv6/conf/all/forwarding"

    /// Reads the forwarding switches of `name` (nil: the process's namespace). /proc/sys/net
    /// shows the namespace of the thread that opens it, so a thread inside `name` opens it.
    ///
    /// Equivalent to: `ip netns exec $name sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding`
    public static func forwarding(in name: String?) throws(NetlinkError) -> Forwarding {
        let operation = "ip netns exec \(name ?? "(self)") sysctl net.ipv4.ip_forward"
        return try NamespaceWorker.shared.perform(in: name) { () throws(NetlinkError) in
            Forwarding(
                ipv4: try readSwitch(ipv4ForwardingPath, operation: operation),
                ipv6: try readSwitch(ipv6ForwardingPath, operation: operation))
        }
    }

    /// Turns forwarding on or off for both families in `name`.
    ///
    /// Equivalent to: `ip netns exec $name sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`
    public static func setForwarding(_ value: Forwarding, in name: String?) throws(NetlinkError) {
        let operation =
            "ip netns exec \(name ?? "(self)") sysctl -w net.ipv4.ip_forward=\(value.ipv4 ? 1 : 0) net.ipv6.conf.all.forwarding=\(value.ipv6 ? 1 : 0)"
        try NamespaceWorker.shared.perform(in: name) { () throws(NetlinkError) in
            try writeSwitch(ipv4ForwardingPath, value.ipv4, operation: operation)
            try writeSwitch(ipv6ForwardingPath, value.ipv6, operation: operation)
        }
    }

    private static func readSwitch(_ path: String, operation: String) throws(NetlinkError) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw NetlinkError(operation: "\(operation): open \(path)", errno: errno) }
        defer { close(fd) }
        var byte: UInt8 = 0
        if read(fd, &byte, 1) != 1 {
            throw NetlinkError(operation: "\(operation): read \(path)", errno: errno)
        }
        return byte == UInt8(ascii: "1")
    }

    private static func writeSwitch(_ path: String, _ on: Bool, operation: String)
        throws(NetlinkError)
    {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw NetlinkError(operation: "\(operation): open \(path)", errno: errno) }
        defer { close(fd) }
        var text: [UInt8] = on ? [UInt8(ascii: "1"), 10] : [UInt8(ascii: "0"), 10]
        if write(fd, &text, 2) != 2 {
            throw NetlinkError(operation: "\(operation): write \(path)", errno: errno)
        }
    }
}
