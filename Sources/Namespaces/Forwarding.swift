import Glibc
import LinuxSystem

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
    public static func forwarding(in name: String?) throws(NamespaceError) -> Forwarding {
        let command = "ip netns exec \(name ?? "(self)") sysctl net.ipv4.ip_forward"
        let read = try perform(in: name) { () -> Result<Forwarding, SystemError> in
            Result { () throws(SystemError) in
                Forwarding(
                    ipv4: try FileSystem.readFile(ipv4ForwardingPath, limit: 16).first
                        == UInt8(ascii: "1"),
                    ipv6: try FileSystem.readFile(ipv6ForwardingPath, limit: 16).first
                        == UInt8(ascii: "1"))
            }
        }
        do {
            return try read.get()
        } catch {
            throw NamespaceError(command, error)
        }
    }

    /// Turns forwarding on or off for both families in `name`.
    ///
    /// Equivalent to: `ip netns exec $name sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`
    public static func setForwarding(_ value: Forwarding, in name: String?) throws(NamespaceError) {
        let command =
            "ip netns exec \(name ?? "(self)") sysctl -w net.ipv4.ip_forward=\(value.ipv4 ? 1 : 0) net.ipv6.conf.all.forwarding=\(value.ipv6 ? 1 : 0)"
        let written = try perform(in: name) { () -> Result<Void, SystemError> in
            Result { () throws(SystemError) in
                try writeSwitch(ipv4ForwardingPath, value.ipv4)
                try writeSwitch(ipv6ForwardingPath, value.ipv6)
            }
        }
        do {
            try written.get()
        } catch {
            throw NamespaceError(command, error)
        }
    }

    /// A sysctl file takes its value in one write(2); it must not be truncated first.
    private static func writeSwitch(_ path: String, _ on: Bool) throws(SystemError) {
        let fd = try FileSystem.open(path, O_WRONLY)
        defer { closeDescriptor(fd) }
        let text: [UInt8] = on ? [UInt8(ascii: "1"), 10] : [UInt8(ascii: "0"), 10]
        try FileSystem.writeAll(fd, [text], path: path)
    }
}
