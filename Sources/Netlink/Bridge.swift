import CMNL
import Glibc

extension NetlinkHandle {
    /// Plugs `name` into the bridge `bridge` (both in this namespace).
    ///
    /// Equivalent to: `ip link set $name master $bridge`
    public func setMaster(_ name: String, bridge: String) throws(NetlinkError) {
        let operation = "\(ip) link set \(name) master \(bridge)"
        let bridgeIndex: Int32
        do {
            bridgeIndex = try link(named: bridge).index
        } catch {
            throw NetlinkError(
                operation: operation, errno: error.errno, kernelMessage: "no bridge \(bridge)")
        }
        try modifyLink(name, operation: operation) { builder in
            builder.put(IFLA_MASTER, u32: UInt32(bitPattern: bridgeIndex))
        }
    }

    /// Unplugs `name` from its bridge.
    ///
    /// Equivalent to: `ip link set $name nomaster`
    public func setNoMaster(_ name: String) throws(NetlinkError) {
        try modifyLink(name, operation: "\(ip) link set \(name) nomaster") { builder in
            builder.put(IFLA_MASTER, u32: 0)
        }
    }

    /// The links plugged into `bridge`, in index order.
    ///
    /// Equivalent to: `bridge link show master $bridge`
    public func bridgePorts(_ bridge: String) throws(NetlinkError) -> [Link] {
        let index = try link(named: bridge).index
        return try links().filter { $0.masterIndex == index }
    }
}
