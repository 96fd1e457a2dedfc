import Glibc
import Namespaces
import Netlink

/// What exists in one namespace, as far as a lab cares.
struct NamespaceSnapshot {
    var exists: Bool
    var links: [String: Link] = [:]
    var addresses: [AddressEntry] = []
    var routes: [Route] = []
    var forwarding: Forwarding?

    func link(_ name: String) -> Link? { links[name] }
    func name(ofIndex index: Int32) -> String? { links.values.first { $0.index == index }?.name }
}

/// The actual state of every namespace a lab touches.
struct LabObservation {
    var namespaces: [String?: NamespaceSnapshot] = [:]

    init(_ spec: LabSpec, context: LabContext) throws(NetlinkError) {
        for namespace in spec.allNamespaces {
            if let namespace, !NetworkNamespace.exists(namespace) {
                namespaces[namespace] = NamespaceSnapshot(exists: false)
                continue
            }
            let handle = try context.handle(namespace)
            var snapshot = NamespaceSnapshot(exists: true)
            for link in try handle.links() { snapshot.links[link.name] = link }
            snapshot.addresses = try handle.addresses()
            snapshot.routes = try handle.routes()
            snapshot.forwarding = try NetlinkError.from { () throws(NamespaceError) in
                try NetworkNamespace.forwarding(in: namespace)
            }
            namespaces[namespace] = snapshot
        }
    }

    subscript(namespace: String?) -> NamespaceSnapshot {
        namespaces[namespace] ?? NamespaceSnapshot(exists: false)
    }
}

/// One desired object compared with reality.
public struct LabItem: Sendable, CustomStringConvertible {
    public enum State: Sendable, Equatable {
        case present
        case missing
        /// Something is in the way that `up` will not touch (e.g. a link of the wrong kind).
        case conflict(String)
    }

    public var step: LabStep
    public var state: State

    public var description: String {
        switch state {
        case .present: "ok       \(step)"
        case .missing: "missing  \(step)"
        case .conflict(let why): "CONFLICT \(step): \(why)"
        }
    }
}

/// Compares a lab with what exists, object by object, in the order `up` creates them.
func compare(_ spec: LabSpec, with actual: LabObservation) -> [LabItem] {
    var items: [LabItem] = []
    func add(_ action: LabStep.Action, _ line: Int, _ state: LabItem.State) {
        items.append(LabItem(step: LabStep(action: action, line: line), state: state))
    }
    func link(_ interface: LabInterface) -> Link? {
        actual[interface.namespace].link(interface.name)
    }
    // Conflicts are told in the lab file's names.
    func named(_ interface: LabInterface) -> String { spec.renaming.fileName(of: interface) }

    for namespace in spec.namespaces {
        add(
            .addNamespace(namespace.name), namespace.line,
            actual[namespace.name].exists ? .present : .missing)
    }
    for namespace in spec.namespaces {
        let desired = Forwarding(ipv4: namespace.forwards, ipv6: namespace.forwards)
        // A fresh namespace does not forward: only a lab that forwards needs a step.
        let observed = actual[namespace.name].forwarding ?? Forwarding(ipv4: false, ipv6: false)
        if namespace.forwards || observed != desired {
            // The stand-in host (line 0) forwards because of `forward host`.
            add(
                .setForwarding(namespace.name, desired),
                namespace.line == 0 ? spec.hostForwardLine ?? 0 : namespace.line,
                observed == desired ? .present : .missing)
        }
    }
    // The host's forwarding is the user's: touched only when the file says `forward host`
    // (down puts the value it found back).
    if spec.renaming.hostNamespace == nil, let line = spec.hostForwardLine {
        let desired = Forwarding(ipv4: true, ipv6: true)
        add(
            .setForwarding(nil, desired), line,
            actual[nil].forwarding == desired ? .present : .missing)
    }
    for veth in spec.veths {
        // Create from the host's side if one end is there: its handle can place the peer anywhere.
        let (creator, peer) =
            veth.first.namespace == nil || veth.second.namespace != nil
            ? (veth.first, veth.second) : (veth.second, veth.first)
        let action = LabStep.Action.addVeth(creator: creator, peer: peer)
        switch (link(veth.first), link(veth.second)) {
        case (nil, nil): add(action, veth.line, .missing)
        case (let a?, let b?) where a.kind == "veth" && b.kind == "veth":
            add(action, veth.line, .present)
        case (let a?, let b?):
            let (wrong, kind) = a.kind == "veth" ? (veth.second, b.kind) : (veth.first, a.kind)
            add(
                action, veth.line,
                .conflict("\(named(wrong)) exists and is \(kind ?? "a device"), not a veth"))
        case (_?, nil):
            add(
                action, veth.line,
                .conflict("\(named(veth.first)) exists but \(named(veth.second)) does not"))
        case (nil, _?):
            add(
                action, veth.line,
                .conflict("\(named(veth.second)) exists but \(named(veth.first)) does not"))
        }
    }
    for bridge in spec.bridges {
        let existing = link(bridge.bridge)
        let state: LabItem.State =
            existing == nil
            ? .missing
            : existing?.kind == "bridge"
                ? .present : .conflict("\(named(bridge.bridge)) exists and is not a bridge")
        add(.addBridge(bridge.bridge), bridge.line, state)
    }
    for bridge in spec.bridges {
        let bridgeIndex = link(bridge.bridge)?.index
        for port in bridge.ports {
            let interface = LabInterface(name: port, namespace: bridge.bridge.namespace)
            let enslaved = bridgeIndex != nil && link(interface)?.masterIndex == bridgeIndex
            add(
                .setMaster(interface, bridge: bridge.bridge.name), bridge.line,
                enslaved ? .present : .missing)
        }
    }
    for uplink in spec.nicUplinks {
        let nic = LabInterface(name: uplink.nic, namespace: uplink.bridge.namespace)
        let action = LabStep.Action.setMaster(nic, bridge: uplink.bridge.name)
        guard let existing = link(nic) else {
            add(
                action, uplink.line,
                .conflict("there is no NIC \(uplink.nic) in \(ip(nic.namespace))"))
            continue
        }
        let bridgeIndex = link(uplink.bridge)?.index
        add(
            action, uplink.line,
            bridgeIndex != nil && existing.masterIndex == bridgeIndex ? .present : .missing)
    }
    for namespace in spec.namespaces {
        let loopback = LabInterface(name: "lo", namespace: namespace.name)
        add(.setUp(loopback), 0, link(loopback)?.isUp == true ? .present : .missing)
    }
    let declared: [(LabInterface, Int)] =
        spec.veths.flatMap { [($0.first, $0.line), ($0.second, $0.line)] }
        + spec.bridges.map { ($0.bridge, $0.line) }
    for (interface, line) in declared {
        add(.setUp(interface), line, link(interface)?.isUp == true ? .present : .missing)
    }
    for address in spec.addresses {
        let index = link(address.interface)?.index
        let present = actual[address.interface.namespace].addresses.contains {
            $0.linkIndex == index && $0.prefix == address.prefix
        }
        add(
            .addAddress(address.interface, address.prefix), address.line,
            present ? .present : .missing)
    }
    for route in spec.routes {
        let snapshot = actual[route.namespace]
        let deviceIndex = route.device.flatMap { snapshot.link($0)?.index }
        let family = route.destination?.address.family ?? route.gateway?.family
        let present = snapshot.routes.contains {
            $0.family == family && $0.destination?.network == route.destination
                && $0.gateway == route.gateway
                && (route.device == nil || $0.linkIndex == deviceIndex)
        }
        add(.addRoute(route), route.line, present ? .present : .missing)
    }
    for resolver in spec.resolvers {
        let wanted = LabResolver.contents(
            nameservers: resolver.nameservers, search: resolver.search)
        let state: LabItem.State
        switch LabResolver.current(resolver.namespace) {
        case nil: state = .missing
        case wanted: state = .present
        default:
            state = .conflict(
                "\(LabResolver.path(of: resolver.namespace)) exists with other contents")
        }
        add(
            .writeResolvConf(
                namespace: resolver.namespace, nameservers: resolver.nameservers,
                search: resolver.search), resolver.line, state)
    }
    return items
}

/// Things in the lab's namespaces (or on its host links) that the lab does not declare.
func drift(_ spec: LabSpec, in actual: LabObservation, leases: [LabState.Lease] = []) -> [String] {
    var extras: [String] = []
    let owned = Set(spec.namespaces.map(\.name))
    // A NIC plugged in by `uplink … nic` is the lab's to watch, not drift.
    let declaredLinks = Set(
        spec.interfaces
            + spec.nicUplinks.map { LabInterface(name: $0.nic, namespace: $0.bridge.namespace) })
    // What DHCP put there (`addr IF@NS dhcp`) is the lab's too.
    let declaredAddresses = Set(
        spec.addresses.map { "\($0.interface) \($0.prefix)" }
            + leases.map { "\($0.interface) \($0.applied.address)" })
    for namespace in spec.allNamespaces {
        let snapshot = actual[namespace]
        guard snapshot.exists else { continue }
        let isOwned = namespace.map { owned.contains($0) } ?? false
        for link in snapshot.links.values.sorted(by: { $0.index < $1.index }) where isOwned {
            if link.name != "lo"
                && !declaredLinks.contains(LabInterface(name: link.name, namespace: namespace))
            {
                extras.append("\(ip(namespace)) link: \(link.name) is not in the lab")
            }
        }
        for address in snapshot.addresses {
            guard let name = snapshot.name(ofIndex: address.linkIndex), name != "lo" else {
                continue
            }
            let interface = LabInterface(name: name, namespace: namespace)
            guard isOwned || declaredLinks.contains(interface) else { continue }
            if case .v6(let bytes) = address.prefix.address, bytes[0] == 0xFE,
                bytes[1] & 0xC0 == 0x80
            {
                continue
            }
            if !declaredAddresses.contains("\(interface) \(address.prefix)") {
                extras.append(
                    "\(ip(namespace)) addr: \(address.prefix) on \(name) is not in the lab")
            }
        }
        guard isOwned else { continue }
        for route in snapshot.routes where !route.isKernelRoute {
            let declared =
                spec.routes.contains {
                    $0.namespace == namespace && $0.destination == route.destination?.network
                        && $0.gateway == route.gateway
                }
                || leases.contains {
                    $0.interface.namespace == namespace && route.destination == nil
                        && $0.applied.router != nil && $0.applied.router == route.gateway
                }
            if !declared { extras.append("\(ip(namespace)) route: \(route) is not in the lab") }
        }
    }
    return extras
}
