import CMNL
import Glibc

/// An address assigned to a link.
public struct AddressEntry: Sendable, Hashable {
    /// Index of the link carrying the address.
    public var linkIndex: Int32
    /// The address with its prefix length (`10.0.0.2/24`).
    public var prefix: IPPrefix
    /// `IFA_F_*` flags (tentative, nodad, permanent, …).
    public var flags: UInt32

    static func parse(_ message: UnsafePointer<nlmsghdr>) -> AddressEntry? {
        guard Int(message.pointee.nlmsg_type) == RTM_NEWADDR else { return nil }
        let header = mnl_nlmsg_get_payload(message)!.loadUnaligned(as: ifaddrmsg.self)
        var local: IPAddress?
        var address: IPAddress?
        var flags = UInt32(header.ifa_flags)
        AttributeWalker.walk(message: message, headerSize: MemoryLayout<ifaddrmsg>.size) {
            type, attribute in
            switch Int(type) {
            case IFA_LOCAL: local = IPAddress(bytes: AttributeWalker.bytes(attribute))
            case IFA_ADDRESS: address = IPAddress(bytes: AttributeWalker.bytes(attribute))
            case IFA_FLAGS: flags = mnl_attr_get_u32(attribute)
            default: break
            }
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
        guard let own = local ?? address else { return nil }
        return AddressEntry(
            linkIndex: Int32(header.ifa_index),
            prefix: IPPrefix(address: own, length: Int(header.ifa_prefixlen)),
            flags: flags)
    }
}

extension NetlinkHandle {
    /// Every address in the namespace, or only those of link `name`.
    ///
    /// Equivalent to: `ip addr show [dev $name]`
    public func addresses(of name: String? = nil) throws(NetlinkError) -> [AddressEntry] {
        let operation = "\(ip) addr show" + (name.map { " dev \($0)" } ?? "")
        let index: Int32? = try name.map { (name) throws(NetlinkError) in
            try link(named: name).index
        }
        let all = try dump(
            type: RTM_GETADDR, operation: operation, build: { $0.putHeader(ifaddrmsg()) },
            parse: AddressEntry.parse)
        guard let index else { return all }
        return all.filter { $0.linkIndex == index }
    }

    /// Adds `prefix` (e.g. `10.0.0.2/24`) to link `name`. IPv6 addresses are added with
    /// `IFA_F_NODAD`, so they are usable at once instead of staying tentative for a second or two.
    ///
    /// Equivalent to: `ip addr add $prefix dev $name` (IPv6: `… nodad`)
    public func addAddress(_ prefix: IPPrefix, to name: String) throws(NetlinkError) {
        let operation =
            "\(ip) addr add \(prefix) dev \(name)" + (prefix.address.isIPv4 ? "" : " nodad")
        try changeAddress(
            prefix, on: name, type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL,
            operation: operation)
    }

    /// Removes `prefix` from link `name`.
    ///
    /// Equivalent to: `ip addr del $prefix dev $name`
    public func deleteAddress(_ prefix: IPPrefix, from name: String) throws(NetlinkError) {
        try changeAddress(
            prefix, on: name, type: RTM_DELADDR, flags: 0,
            operation: "\(ip) addr del \(prefix) dev \(name)")
    }

    private func changeAddress(
        _ prefix: IPPrefix, on name: String, type: Int, flags: Int32, operation: String
    ) throws(NetlinkError) {
        let index: Int32
        do {
            index = try link(named: name).index
        } catch {
            throw NetlinkError(
                operation: operation, errno: error.errno, kernelMessage: error.kernelMessage)
        }
        try change(type: type, flags: flags, operation: operation) { builder in
            var header = ifaddrmsg()
            header.ifa_family = UInt8(prefix.address.family)
            header.ifa_prefixlen = UInt8(prefix.length)
            header.ifa_index = UInt32(bitPattern: index)
            builder.putHeader(header)
            builder.put(IFA_LOCAL, bytes: prefix.address.bytes)
            builder.put(IFA_ADDRESS, bytes: prefix.address.bytes)
            if !prefix.address.isIPv4 { builder.put(IFA_FLAGS, u32: UInt32(IFA_F_NODAD)) }
        }
    }
}
