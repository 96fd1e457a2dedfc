import CMNL
import CSystem
import Glibc
import Namespaces

/// A network interface as rtnetlink reports it.
public struct Link: Sendable, Hashable {
    /// The interface index, unique within its namespace.
    public var index: Int32
    public var name: String
    /// `IFLA_INFO_KIND`: "veth", "bridge", … (nil for loopback and physical devices).
    public var kind: String?
    /// Administratively up (`IFF_UP`).
    public var isUp: Bool
    /// The bridge this link is enslaved to (`IFLA_MASTER`), if any.
    public var masterIndex: Int32?
    /// For a veth: the peer's index (`IFLA_LINK`), in the namespace `peerNamespaceID` if set.
    public var peerIndex: Int32?
    /// Set when the peer lives in another namespace (`IFLA_LINK_NETNSID`).
    public var peerNamespaceID: Int32?
    public var mtu: UInt32
    /// The lower layer is up (`IFLA_CARRIER`): for a veth, its peer is up too.
    public var hasCarrier = false
    /// The link-layer address (`IFLA_ADDRESS`): 6 bytes for Ethernet and veth, empty for none.
    public var hardwareAddress: [UInt8] = []

    /// Parses one RTM_NEWLINK message.
    static func parse(_ message: UnsafePointer<nlmsghdr>) -> Link? {
        guard Int(message.pointee.nlmsg_type) == RTM_NEWLINK else { return nil }
        let info = mnl_nlmsg_get_payload(message)!.loadUnaligned(as: ifinfomsg.self)
        var link = Link(
            index: info.ifi_index, name: "", kind: nil,
            isUp: info.ifi_flags & UInt32(IFF_UP) != 0,
            masterIndex: nil, peerIndex: nil, peerNamespaceID: nil, mtu: 0)
        AttributeWalker.walk(message: message, headerSize: MemoryLayout<ifinfomsg>.size) {
            type, attribute in
            switch Int(type) {
            case IFLA_IFNAME: link.name = AttributeWalker.string(attribute)
            case IFLA_MTU: link.mtu = mnl_attr_get_u32(attribute)
            case IFLA_CARRIER: link.hasCarrier = mnl_attr_get_u8(attribute) != 0
            case IFLA_ADDRESS:
                let length = Int(mnl_attr_get_payload_len(attribute))
                link.hardwareAddress = Array(
                    UnsafeRawBufferPointer(start: mnl_attr_get_payload(attribute), count: length))
            case IFLA_MASTER:
                let master = Int32(bitPattern: mnl_attr_get_u32(attribute))
                link.masterIndex = master == 0 ? nil : master
            case IFLA_LINK: link.peerIndex = Int32(bitPattern: mnl_attr_get_u32(attribute))
            case IFLA_LINK_NETNSID:
                link.peerNamespaceID = Int32(bitPattern: mnl_attr_get_u32(attribute))
            case IFLA_LINKINFO:
                AttributeWalker.walk(nest: attribute) { innerType, inner in
                    if Int(innerType) == IFLA_INFO_KIND {
                        link.kind = AttributeWalker.string(inner)
                    }
                }
            default: break
            }
        }
        return link
    }
}

extension NetlinkHandle {
    /// Every link of the namespace.
    ///
    /// Equivalent to: `ip link show`
    public func links() throws(NetlinkError) -> [Link] {
        try dump(
            type: RTM_GETLINK, operation: "\(ip) link show",
            build: { $0.putHeader(ifinfomsg()) }, parse: Link.parse)
    }

    /// The link called `name` in this handle's namespace (RTM_GETLINK by name, not
    /// `if_nametoindex`, which would look in the calling thread's namespace).
    ///
    /// Equivalent to: `ip link show dev $name`
    public func link(named name: String) throws(NetlinkError) -> Link {
        let operation = "\(ip) link show dev \(name)"
        try validateInterfaceName(name, operation: operation)
        var found: Link?
        try transact(
            type: RTM_GETLINK, flags: NLM_F_ACK, operation: operation,
            build: { builder in
                builder.putHeader(ifinfomsg())
                builder.put(IFLA_IFNAME, string: name)
            },
            each: { message in found = found ?? Link.parse(message) })
        guard let found else { throw NetlinkError(operation: operation, errno: ENODEV) }
        return found
    }

    /// The link called `name`, or nil if there is none (ENODEV).
    public func linkIfPresent(named name: String) throws(NetlinkError) -> Link? {
        do {
            return try link(named: name)
        } catch  where error.errno == ENODEV {
            return nil
        }
    }

    private func interfaceIndex(_ name: String, for operation: String) throws(NetlinkError) -> Int32
    {
        do {
            return try link(named: name).index
        } catch {
            throw NetlinkError(
                operation: operation, errno: error.errno, kernelMessage: error.kernelMessage)
        }
    }

    /// Sends RTM_NEWLINK for the existing link `name`, with `fill` adding what changes.
    func modifyLink(
        _ name: String, operation: String, flags: UInt32 = 0, changeMask: UInt32 = 0,
        _ fill: (MessageBuilder) -> Void = { _ in }
    ) throws(NetlinkError) {
        let index = try interfaceIndex(name, for: operation)
        try change(type: RTM_NEWLINK, operation: operation) { builder in
            var info = ifinfomsg()
            info.ifi_index = index
            info.ifi_flags = flags
            info.ifi_change = changeMask
            builder.putHeader(info)
            fill(builder)
        }
    }

    /// Creates a veth pair `name` ↔ `peer`. The peer is created directly inside
    /// `peerNamespace` (nil: this handle's namespace) through `IFLA_NET_NS_FD`, which
    /// is much cheaper than creating it here and moving it.
    ///
    /// Equivalent to: `ip link add $name type veth peer name $peer netns $peerNamespace`
    public func addVeth(_ name: String, peer: String, peerNamespace: String? = nil)
        throws(NetlinkError)
    {
        var operation = "\(ip) link add \(name) type veth peer name \(peer)"
        if let peerNamespace { operation += " netns \(peerNamespace)" }
        try validateInterfaceName(name, operation: operation)
        try validateInterfaceName(peer, operation: operation)
        var namespaceFD: Int32 = -1
        if let peerNamespace {
            namespaceFD = open(NetworkNamespace.path(of: peerNamespace), O_RDONLY | O_CLOEXEC)
            if namespaceFD < 0 {
                throw NetlinkError(
                    operation: operation, errno: errno,
                    kernelMessage: "no namespace \(peerNamespace)")
            }
        }
        defer { if namespaceFD >= 0 { close(namespaceFD) } }
        try change(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, operation: operation) {
            builder in
            builder.putHeader(ifinfomsg())
            builder.put(IFLA_IFNAME, string: name)
            builder.nest(IFLA_LINKINFO) {
                builder.put(IFLA_INFO_KIND, string: "veth")
                builder.nest(IFLA_INFO_DATA) {
                    builder.nest(VETH_INFO_PEER) {
                        builder.putHeader(ifinfomsg())
                        builder.put(IFLA_IFNAME, string: peer)
                        if namespaceFD >= 0 {
                            builder.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: namespaceFD))
                        }
                    }
                }
            }
        }
    }

    /// Creates a bridge.
    ///
    /// Equivalent to: `ip link add name $name type bridge`
    public func addBridge(_ name: String) throws(NetlinkError) {
        let operation = "\(ip) link add name \(name) type bridge"
        try validateInterfaceName(name, operation: operation)
        try change(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, operation: operation) {
            builder in
            builder.putHeader(ifinfomsg())
            builder.put(IFLA_IFNAME, string: name)
            builder.nest(IFLA_LINKINFO) {
                builder.put(IFLA_INFO_KIND, string: "bridge")
            }
        }
    }

    /// Deletes a link (for a veth, both ends go).
    ///
    /// Equivalent to: `ip link del $name`
    public func deleteLink(_ name: String) throws(NetlinkError) {
        let operation = "\(ip) link del \(name)"
        let index = try interfaceIndex(name, for: operation)
        try change(type: RTM_DELLINK, operation: operation) { builder in
            var info = ifinfomsg()
            info.ifi_index = index
            builder.putHeader(info)
        }
    }

    /// Brings a link up.
    ///
    /// Equivalent to: `ip link set $name up`
    public func setUp(_ name: String) throws(NetlinkError) {
        let up = UInt32(IFF_UP)
        try modifyLink(name, operation: "\(ip) link set \(name) up", flags: up, changeMask: up)
    }

    /// Takes a link down.
    ///
    /// Equivalent to: `ip link set $name down`
    public func setDown(_ name: String) throws(NetlinkError) {
        try modifyLink(
            name, operation: "\(ip) link set \(name) down", flags: 0, changeMask: UInt32(IFF_UP))
    }

    /// Moves a link into the named namespace, nil: the process's own (the host, where mlab
    /// runs), given by pid as `ip link set $name netns 1` does (it goes down and loses its
    /// addresses). The kernel takes tens of milliseconds for this: prefer creating ends where
    /// they live.
    ///
    /// Equivalent to: `ip link set $name netns $namespace`
    public func moveLink(_ name: String, toNamespace target: String?) throws(NetlinkError) {
        guard let target else {
            // The main thread never leaves the process's namespace: its pid names it.
            return try modifyLink(name, operation: "\(ip) link set \(name) netns \(getpid())") {
                builder in
                builder.put(IFLA_NET_NS_PID, u32: UInt32(bitPattern: getpid()))
            }
        }
        let operation = "\(ip) link set \(name) netns \(target)"
        let fd = open(NetworkNamespace.path(of: target), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw NetlinkError(
                operation: operation, errno: errno, kernelMessage: "no namespace \(target)")
        }
        defer { close(fd) }
        try modifyLink(name, operation: operation) { builder in
            builder.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: fd))
        }
    }
}
