import CMNL
import Glibc

/// A route of the main table.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The destination; nil for the default route.
    public var destination: IPPrefix?
    /// The next hop, if the route goes via a gateway.
    public var gateway: IPAddress?
    /// Output link index (`RTA_OIF`), if any.
    public var linkIndex: Int32?
    /// `RTPROT_*`: 2 kernel (connected networks), 3 boot (added by hand or by us), …
    public var routeProtocol: UInt8
    /// `AF_INET` or `AF_INET6`.
    public var family: Int32

    public init(
        destination: IPPrefix?, gateway: IPAddress? = nil, linkIndex: Int32? = nil,
        routeProtocol: UInt8 = 3,
        family: Int32
    ) {
        self.destination = destination
        self.gateway = gateway
        self.linkIndex = linkIndex
        self.routeProtocol = routeProtocol
        self.family = family
    }

    /// True for routes the kernel made itself for connected networks.
    public var isKernelRoute: Bool { routeProtocol == 2 }

    public var description: String {
        var text = destination.map { "\($0.network)" } ?? "default"
        if let gateway { text += " via \(gateway)" }
        if let linkIndex { text += " oif \(linkIndex)" }
        return text
    }

    static func parse(_ message: UnsafePointer<nlmsghdr>) -> Route? {
        guard Int(message.pointee.nlmsg_type) == RTM_NEWROUTE else { return nil }
        let header = mnl_nlmsg_get_payload(message)!.loadUnaligned(as: rtmsg.self)
        var table = UInt32(header.rtm_table)
        var destination: IPAddress?
        var route = Route(
            destination: nil, routeProtocol: header.rtm_protocol, family: Int32(header.rtm_family))
        AttributeWalker.walk(message: message, headerSize: MemoryLayout<rtmsg>.size) {
            type, attribute in
            switch UInt32(type) {
            case RTA_TABLE.rawValue: table = mnl_attr_get_u32(attribute)
            case RTA_DST.rawValue: destination = IPAddress(bytes: AttributeWalker.bytes(attribute))
            case RTA_GATEWAY.rawValue:
                route.gateway = IPAddress(bytes: AttributeWalker.bytes(attribute))
            case RTA_OIF.rawValue: route.linkIndex = Int32(bitPattern: mnl_attr_get_u32(attribute))
            default: break
            }
        }
        guard table == RT_TABLE_MAIN.rawValue, header.rtm_type == UInt8(RTN_UNICAST) else {
            return nil
        }
        if let destination {
            route.destination = IPPrefix(address: destination, length: Int(header.rtm_dst_len))
        }
        return route
    }
}

extension NetlinkHandle {
    /// The unicast routes of the main table (IPv4 and IPv6), kernel routes included.
    ///
    /// Equivalent to: `ip route show` and `ip -6 route show`
    public func routes() throws(NetlinkError) -> [Route] {
        try dump(
            type: RTM_GETROUTE, operation: "\(ip) route show", build: { $0.putHeader(rtmsg()) },
            parse: Route.parse)
    }

    /// Adds a route to `destination` (nil: default) via `gateway`, or directly out of
    /// `device` (scope link), or both.
    ///
    /// Equivalent to: `ip route add $destination [via $gateway] [dev $device]`
    public func addRoute(
        _ destination: IPPrefix?, via gateway: IPAddress? = nil, device: String? = nil
    )
        throws(NetlinkError)
    {
        let operation = "\(ip) route add " + Self.describe(destination, gateway, device)
        try changeRoute(
            destination, gateway, device, type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL,
            operation: operation)
    }

    /// Deletes a route.
    ///
    /// Equivalent to: `ip route del $destination [via $gateway] [dev $device]`
    public func deleteRoute(
        _ destination: IPPrefix?, via gateway: IPAddress? = nil, device: String? = nil
    )
        throws(NetlinkError)
    {
        let operation = "\(ip) route del " + Self.describe(destination, gateway, device)
        try changeRoute(
            destination, gateway, device, type: RTM_DELROUTE, flags: 0, operation: operation)
    }

    static func describe(_ destination: IPPrefix?, _ gateway: IPAddress?, _ device: String?)
        -> String
    {
        var text = destination.map { "\($0)" } ?? "default"
        if let gateway { text += " via \(gateway)" }
        if let device { text += " dev \(device)" }
        return text
    }

    private func changeRoute(
        _ destination: IPPrefix?, _ gateway: IPAddress?, _ device: String?, type: Int, flags: Int32,
        operation: String
    ) throws(NetlinkError) {
        guard let family = destination?.address.family ?? gateway?.family else {
            throw NetlinkError(
                operation: operation, errno: EINVAL,
                kernelMessage: "a default route needs a gateway")
        }
        if let gateway, gateway.family != family {
            throw NetlinkError(
                operation: operation, errno: EINVAL,
                kernelMessage: "gateway and destination differ in family")
        }
        var index: Int32?
        if let device {
            do {
                index = try link(named: device).index
            } catch {
                throw NetlinkError(
                    operation: operation, errno: error.errno, kernelMessage: error.kernelMessage)
            }
        }
        try change(type: type, flags: flags, operation: operation) { builder in
            var header = rtmsg()
            header.rtm_family = UInt8(family)
            header.rtm_dst_len = UInt8(destination?.length ?? 0)
            header.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
            header.rtm_protocol = UInt8(RTPROT_BOOT)
            header.rtm_type = UInt8(RTN_UNICAST)
            // As iproute2: a route without gateway is on-link.
            header.rtm_scope = UInt8(
                gateway == nil ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
            if type == RTM_DELROUTE { header.rtm_scope = UInt8(RT_SCOPE_NOWHERE.rawValue) }
            builder.putHeader(header)
            if let destination, destination.length > 0 {
                builder.put(
                    Int(RTA_DST.rawValue),
                    bytes: destination.address.masked(to: destination.length).bytes)
            }
            if let gateway { builder.put(Int(RTA_GATEWAY.rawValue), bytes: gateway.bytes) }
            if let index { builder.put(Int(RTA_OIF.rawValue), u32: UInt32(bitPattern: index)) }
        }
    }
}
