import CMNL
import Glibc

extension NetlinkHandle {
    /// The id under which this handle's namespace knows the namespace mounted at `path`
    /// (a `/run/netns/NAME` file or `/proc/1/ns/net`), or nil if it has none assigned. A veth
    /// whose peer is elsewhere names the peer's namespace by this id (`IFLA_LINK_NETNSID`).
    ///
    /// Equivalent to: `ip netns list-id` (iproute2's `get_netnsid_from_name`)
    public func namespaceID(ofNamespaceAt path: String) throws(NetlinkError) -> Int32? {
        let operation = "\(ip) netns list-id (\(path))"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError(operation: operation, errno: errno) }
        defer { close(fd) }
        var id: Int32?
        try transact(
            type: RTM_GETNSID, flags: NLM_F_ACK, operation: operation,
            build: { builder in
                var header = rtgenmsg()
                header.rtgen_family = UInt8(AF_UNSPEC)
                _ = builder.putHeader(header)
                builder.put(NETNSA_FD, u32: UInt32(bitPattern: fd))
            },
            each: { message in
                guard Int(message.pointee.nlmsg_type) == RTM_NEWNSID else { return }
                AttributeWalker.walk(message: message, headerSize: MemoryLayout<rtgenmsg>.size) {
                    type, attribute in
                    if Int(type) == NETNSA_NSID {
                        let value = Int32(bitPattern: mnl_attr_get_u32(attribute))
                        if value >= 0 { id = value }
                    }
                }
            })
        return id
    }
}
