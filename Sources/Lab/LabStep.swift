import Glibc
import Namespaces
public import Netlink

/// One change `up` makes, named by its iproute2 equivalent.
public struct LabStep: Sendable, CustomStringConvertible {
    public enum Action: Sendable, Hashable {
        case addNamespace(String)
        /// In a namespace, or in the host (nil: `forward host`).
        case setForwarding(String?, Forwarding)
        /// Made from `creator`'s namespace, with the peer created directly in its own.
        case addVeth(creator: LabInterface, peer: LabInterface)
        case addBridge(LabInterface)
        case setMaster(LabInterface, bridge: String)
        case setUp(LabInterface)
        case addAddress(LabInterface, IPPrefix)
        case addRoute(LabRoute)
        /// `/etc/netns/NS/resolv.conf` with these servers and search domains.
        case writeResolvConf(namespace: String, nameservers: [IPAddress], search: [String])
    }

    public var action: Action
    /// The lab file line it comes from (0: implied, e.g. loopback up).
    public var line: Int

    public var description: String {
        switch action {
        case .addNamespace(let name): return "ip netns add \(name)"
        case .setForwarding(let name, let value):
            return
                (name.map { "ip netns exec \($0) " } ?? "")
                + "sysctl -w net.ipv4.ip_forward=\(value.ipv4 ? 1 : 0) net.ipv6.conf.all.forwarding=\(value.ipv6 ? 1 : 0)"
        case .addVeth(let creator, let peer):
            var text =
                "\(ip(creator.namespace)) link add \(creator.name) type veth peer name \(peer.name)"
            if peer.namespace != creator.namespace { text += " netns \(peer.namespace ?? "1")" }
            return text
        case .addBridge(let bridge):
            return "\(ip(bridge.namespace)) link add name \(bridge.name) type bridge"
        case .setMaster(let port, let bridge):
            return "\(ip(port.namespace)) link set \(port.name) master \(bridge)"
        case .setUp(let link): return "\(ip(link.namespace)) link set \(link.name) up"
        case .addAddress(let link, let prefix):
            return "\(ip(link.namespace)) addr add \(prefix) dev \(link.name)"
                + (prefix.address.isIPv4 ? "" : " nodad")
        case .addRoute(let route):
            var text =
                "\(ip(route.namespace)) route add "
                + (route.destination.map { "\($0)" } ?? "default")
            if let gateway = route.gateway { text += " via \(gateway)" }
            if let device = route.device { text += " dev \(device)" }
            return text
        case .writeResolvConf(let namespace, let nameservers, let search):
            return "printf '"
                + LabResolver.contents(nameservers: nameservers, search: search)
                .split(separator: "\n").dropFirst().joined(separator: "\\n")
                + "\\n' > \(LabResolver.path(of: namespace))"
        }
    }
}

extension LabStep {
    /// The change in the lab file's words and names (`addr ccc@gruen 10.0.0.2/24`), for
    /// messages: the student wrote the file, not the iproute2 commands.
    public func summary(_ renaming: LabRenaming) -> String {
        func ns(_ namespace: String?) -> String { renaming.fileName(ofNamespace: namespace) }
        func at(_ interface: LabInterface) -> String { renaming.fileName(of: interface) }
        switch action {
        case .addNamespace(let name): return "netns \(ns(name))"
        case .setForwarding(let name, let value):
            return "forwarding \(value.ipv4 || value.ipv6 ? "on" : "off") in \(ns(name))"
        case .addVeth(let creator, let peer): return "veth \(at(creator)) \(at(peer))"
        case .addBridge(let bridge): return "bridge \(at(bridge))"
        case .setMaster(let port, let bridge):
            return
                "port \(at(port)) into bridge \(renaming.fileName(ofInterface: bridge))@\(ns(port.namespace))"
        case .setUp(let link):
            return link.name == "lo" ? "lo@\(ns(link.namespace)) up" : "\(at(link)) up"
        case .addAddress(let link, let prefix): return "addr \(at(link)) \(prefix)"
        case .addRoute(let route):
            var text =
                "route \(ns(route.namespace)) " + (route.destination.map { "\($0)" } ?? "default")
            if let gateway = route.gateway { text += " via \(gateway)" }
            if let device = route.device {
                text += " dev \(renaming.fileName(ofInterface: device))"
            }
            return text
        case .writeResolvConf(let namespace, let nameservers, let search):
            return "resolv \(ns(namespace)) "
                + nameservers.map { "nameserver \($0)" }.joined(separator: " ")
                + (search.isEmpty ? "" : " search " + search.joined(separator: " "))
        }
    }
}

func ip(_ namespace: String?) -> String { namespace.map { "ip -n \($0)" } ?? "ip" }

/// Netlink handles for the namespaces of one operation, opened on first use and closed with
/// the context: an open handle is a socket, and a socket keeps a deleted namespace alive.
final class LabContext {
    private var handles: [String?: NetlinkHandle] = [:]

    func handle(_ namespace: String?) throws(NetlinkError) -> NetlinkHandle {
        if let handle = handles[namespace] { return handle }
        let handle = try NetlinkHandle(namespace: namespace)
        handles[namespace] = handle
        return handle
    }

    /// Drops the handle of a namespace about to be (or just) deleted.
    func forget(_ namespace: String) { handles[namespace] = nil }
}

extension LabStep {
    /// Makes the change. Returns what undo needs (the forwarding value it replaced).
    func apply(in context: LabContext) throws(NetlinkError) -> Forwarding? {
        switch action {
        case .addNamespace(let name):
            try NetlinkError.from { () throws(NamespaceError) in try NetworkNamespace.add(name) }
        case .setForwarding(let name, let value):
            let previous = try NetlinkError.from { () throws(NamespaceError) in
                try NetworkNamespace.forwarding(in: name)
            }
            try NetlinkError.from { () throws(NamespaceError) in
                try NetworkNamespace.setForwarding(value, in: name)
            }
            return previous
        case .addVeth(let creator, let peer):
            try context.handle(creator.namespace).addVeth(
                creator.name, peer: peer.name,
                peerNamespace: peer.namespace == creator.namespace ? nil : peer.namespace)
        case .addBridge(let bridge):
            try context.handle(bridge.namespace).addBridge(bridge.name)
        case .setMaster(let port, let bridge):
            try context.handle(port.namespace).setMaster(port.name, bridge: bridge)
        case .setUp(let link):
            try context.handle(link.namespace).setUp(link.name)
        case .addAddress(let link, let prefix):
            try context.handle(link.namespace).addAddress(prefix, to: link.name)
        case .addRoute(let route):
            try context.handle(route.namespace).addRoute(
                route.destination, via: route.gateway, device: route.device)
        case .writeResolvConf(let namespace, let nameservers, let search):
            try LabResolver.write(
                namespace, contents: LabResolver.contents(nameservers: nameservers, search: search))
        }
        return nil
    }

    /// Undoes the change, unless something undone later (created earlier) takes it along:
    /// a namespace created by the same `up` takes everything inside it, a link created by it
    /// takes its addresses, state and bridge membership.
    func undo(
        in context: LabContext, previous: Forwarding?, createdNamespaces: Set<String>,
        createdLinks: Set<LabInterface>
    ) throws(NetlinkError) -> Bool {
        func inCreated(_ namespace: String?) -> Bool {
            namespace.map { createdNamespaces.contains($0) } ?? false
        }
        switch action {
        case .addNamespace(let name):
            context.forget(name)
            try NetlinkError.from { () throws(NamespaceError) in try NetworkNamespace.delete(name) }
            return true
        case .setForwarding(let name, _):
            if !inCreated(name), let previous {
                try NetlinkError.from { () throws(NamespaceError) in
                    try NetworkNamespace.setForwarding(previous, in: name)
                }
                return true
            }
        case .addVeth(let creator, let peer):
            if !(inCreated(creator.namespace) && inCreated(peer.namespace)) {
                try context.handle(creator.namespace).deleteLink(creator.name)
                return true
            }
        case .addBridge(let bridge):
            if !inCreated(bridge.namespace) {
                try context.handle(bridge.namespace).deleteLink(bridge.name)
                return true
            }
        case .setMaster(let port, _):
            if !inCreated(port.namespace) && !createdLinks.contains(port) {
                try context.handle(port.namespace).setNoMaster(port.name)
                return true
            }
        case .setUp(let link):
            if !inCreated(link.namespace) && !createdLinks.contains(link) {
                try context.handle(link.namespace).setDown(link.name)
                return true
            }
        case .addAddress(let link, let prefix):
            if !inCreated(link.namespace) && !createdLinks.contains(link) {
                try context.handle(link.namespace).deleteAddress(prefix, from: link.name)
                return true
            }
        case .addRoute(let route):
            if !inCreated(route.namespace) {
                do {
                    try context.handle(route.namespace).deleteRoute(
                        route.destination, via: route.gateway, device: route.device)
                    return true
                } catch  where error.errno == ESRCH {
                    // Gone with its link already.
                }
            }
        case .writeResolvConf(let namespace, _, _):
            // Outside the namespace: deleting the namespace does not take it along.
            try LabResolver.remove(namespace)
            return true
        }
        return false
    }

    /// The namespaces and links this step creates, for `undo`'s bookkeeping.
    var creates: (namespace: String?, links: [LabInterface]) {
        switch action {
        case .addNamespace(let name): return (name, [])
        case .addVeth(let creator, let peer): return (nil, [creator, peer])
        case .addBridge(let bridge): return (nil, [bridge])
        default: return (nil, [])
        }
    }
}
