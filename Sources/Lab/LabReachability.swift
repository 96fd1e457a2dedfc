import Netlink

/// What a lab's declarations imply about who reaches whom: a small model of IPv4/IPv6
/// forwarding over the lab's segments, routes and forwarding switches. Only the lab's own
/// objects count; the host's other routes are unknown to it.
struct LabReachability {
    private let spec: LabSpec
    private let segments: LabSegments
    private let forwarding: Set<String?>

    init(_ spec: LabSpec) {
        self.spec = spec
        segments = LabSegments(spec)
        forwarding = Set(spec.allNamespaces.filter(spec.forwards))
    }

    /// Whether the file means `source` to reach `destination`, whatever its forwarding and
    /// routes make of it: the two ends of a link (one segment, one address family) are meant
    /// to talk, and so is a namespace with a route of the file towards the address. `check`
    /// without `expect` lines holds the file to this, so that a forgotten `forward`, a
    /// missing route back or a link's ends on two subnets fail instead of passing as `--`.
    func intended(from source: String?, to destination: IPAddress) -> Bool {
        guard let target = spec.addresses.first(where: { $0.prefix.address == destination })
        else { return false }
        let segment = segments.segment(of: target.interface)
        if spec.addresses.contains(where: {
            $0.interface.namespace == source && $0.prefix.address.family == destination.family
                && segments.segment(of: $0.interface) == segment
        }) {
            return true
        }
        return spec.routes.contains {
            $0.namespace == source && ($0.destination?.contains(destination) ?? false)
        }
    }

    /// Whether a TCP connection from `source` to `destination` should complete: the SYN
    /// must get there and the SYN-ACK back to the source address the kernel picks.
    func reaches(from source: String?, to destination: IPAddress) -> Bool {
        guard
            let (owner, sourceAddress) = deliver(
                from: source, to: destination, sourceAddress: nil, hops: 16)
        else {
            return false
        }
        guard let sourceAddress else { return owner == source }
        return deliver(from: owner, to: sourceAddress, sourceAddress: destination, hops: 16)?.0
            == source
    }

    /// Follows a packet hop by hop; returns the namespace that accepts it and the source
    /// address chosen at the first hop (nil if it was local).
    private func deliver(
        from namespace: String?, to destination: IPAddress, sourceAddress: IPAddress?, hops: Int
    ) -> (String?, IPAddress?)? {
        var ignored: [Hop] = []
        return walk(
            from: namespace, to: destination, sourceAddress: sourceAddress, hops: hops,
            into: &ignored)
    }

    /// One hop of a path the file implies: from `namespace` out of `interface` (by a
    /// connected network or a route of the file) to the neighbour in `next`, which must
    /// forward unless the packet is for it.
    struct Hop {
        var namespace: String?
        var interface: LabInterface
        /// The file's route taken; nil: the connected network of `interface`.
        var route: LabRoute?
        /// The address of `interface` whose network the packet leaves by (connected hops).
        var connected: LabAddress?
        var neighbour: LabAddress
        var mustForward: Bool
    }

    /// The hops from `source` to `destination`, and back to the source address picked:
    /// (forward, back), nil where the file implies no path.
    func path(from source: String?, to destination: IPAddress) -> (forward: [Hop], back: [Hop])? {
        var forward: [Hop] = []
        guard
            let (owner, chosen) = walk(
                from: source, to: destination, sourceAddress: nil, hops: 16, into: &forward)
        else { return nil }
        guard let chosen else { return (forward, []) }
        var back: [Hop] = []
        guard
            walk(from: owner, to: chosen, sourceAddress: destination, hops: 16, into: &back)?.0
                == source
        else { return nil }
        return (forward, back)
    }

    /// Why the file itself gives no path from `source` to `destination` and back (nil: it
    /// gives one): the packet walked as `reaches` walks it, and the first place it stops —
    /// no route, a namespace that does not forward, a link whose ends are on different
    /// subnets — in the file's names, with the line to change.
    func fileCause(from source: String?, to destination: IPAddress) -> String? {
        var hops: [Hop] = []
        var failure: String?
        guard
            let (owner, chosen) = walk(
                from: source, to: destination, sourceAddress: nil, hops: 16, into: &hops,
                failure: &failure)
        else { return failure.map { "in the file: " + $0 } }
        guard let chosen else { return nil }
        hops = []
        guard
            let (back, _) = walk(
                from: owner, to: chosen, sourceAddress: destination, hops: 16, into: &hops,
                failure: &failure)
        else { return failure.map { "in the file, way back: " + $0 } }
        if back != source {
            return
                "in the file, way back: replies to \(chosen) go to \(name(back)), not \(name(source))"
        }
        return nil
    }

    private func name(_ namespace: String?) -> String {
        spec.renaming.fileName(ofNamespace: namespace)
    }

    /// Follows a packet hop by hop, recording each hop (see `deliver`).
    private func walk(
        from namespace: String?, to destination: IPAddress, sourceAddress: IPAddress?, hops: Int,
        into path: inout [Hop]
    ) -> (String?, IPAddress?)? {
        var ignored: String?
        return walk(
            from: namespace, to: destination, sourceAddress: sourceAddress, hops: hops,
            into: &path, failure: &ignored)
    }

    /// The walk, saying in `failure` why it stopped where it returns nil.
    private func walk(
        from namespace: String?, to destination: IPAddress, sourceAddress: IPAddress?, hops: Int,
        into path: inout [Hop], failure: inout String?
    ) -> (String?, IPAddress?)? {
        let names = spec.renaming
        let local = spec.addresses.filter { $0.interface.namespace == namespace }
        if local.contains(where: { $0.prefix.address == destination }) {
            return (namespace, sourceAddress)
        }
        guard hops > 0 else {
            failure = "a routing loop towards \(destination)"
            return nil
        }
        guard let (interface, nextHop) = route(in: namespace, to: destination) else {
            failure = unroutable(from: namespace, to: destination, local: local)
            return nil
        }
        let chosen =
            sourceAddress
            ?? local.first {
                $0.interface == interface && $0.prefix.address.family == destination.family
            }?.prefix.address
        guard let chosen else {
            failure =
                "\(names.fileName(of: interface)) has no \(destination.isIPv4 ? "IPv4" : "IPv6") address to send from"
            return nil
        }
        let segment = segments.segment(of: interface)
        guard
            let neighbour = spec.addresses.first(where: {
                $0.prefix.address == nextHop && $0.interface != interface
                    && segments.segment(of: $0.interface) == segment
            })
        else {
            failure =
                "nothing on the link of \(names.fileName(of: interface)) has the address \(nextHop)"
            return nil
        }
        let next = neighbour.interface.namespace
        let isFinal = spec.addresses.contains {
            $0.interface.namespace == next && $0.prefix.address == destination
        }
        let taken = routeTaken(in: namespace, to: destination)
        path.append(
            Hop(
                namespace: namespace, interface: interface, route: taken,
                connected: taken == nil
                    ? local.first { $0.interface == interface && $0.prefix.contains(destination) }
                    : nil,
                neighbour: neighbour, mustForward: !isFinal))
        if isFinal { return (next, chosen) }
        guard forwarding.contains(next) else {
            let declaration = spec.namespaces.first { $0.name == next && $0.line > 0 }
            failure =
                "\(name(next)) does not forward (packets from \(name(namespace)) to \(destination) pass through it): "
                + (declaration.map { "line \($0.line) should say \"netns \(name(next)) forward\"" }
                    ?? "add \"forward \(name(next))\"")
            return nil
        }
        return walk(
            from: next, to: destination, sourceAddress: chosen, hops: hops - 1, into: &path,
            failure: &failure)
    }

    /// Why `namespace` has no route to `destination`: a link it shares with the destination
    /// whose ends are on different subnets, or simply no route of the file.
    private func unroutable(
        from namespace: String?, to destination: IPAddress, local: [LabAddress]
    ) -> String {
        let names = spec.renaming
        if let target = spec.addresses.first(where: { $0.prefix.address == destination }) {
            let segment = segments.segment(of: target.interface)
            if let mine = local.first(where: {
                segments.segment(of: $0.interface) == segment
                    && $0.prefix.address.family == destination.family
            }) {
                return
                    "\(names.fileName(of: mine.interface)) \(mine.prefix) (line \(mine.line)) and \(names.fileName(of: target.interface)) \(target.prefix) (line \(target.line)) are on one link but on different subnets"
            }
        }
        return "no route in \(name(namespace)) to \(destination)"
    }

    /// How well `route` matches `destination`: its prefix length (0 for a default route of
    /// the same family), nil when it does not match.
    private static func matchLength(_ route: LabRoute, _ destination: IPAddress) -> Int? {
        if let target = route.destination {
            return target.contains(destination) ? target.length : nil
        }
        return route.gateway?.family == destination.family ? 0 : nil
    }

    /// The file's route `route(in:to:)` picks, nil when a connected network wins.
    private func routeTaken(in namespace: String?, to destination: IPAddress) -> LabRoute? {
        var best: (length: Int, route: LabRoute?)?
        for address in spec.addresses
        where address.interface.namespace == namespace && address.prefix.contains(destination) {
            if best == nil || address.prefix.length > best!.length {
                best = (address.prefix.length, nil)
            }
        }
        for route in spec.routes where route.namespace == namespace {
            guard let length = Self.matchLength(route, destination) else { continue }
            if best == nil || length > best!.length { best = (length, route) }
        }
        return best?.route
    }

    /// Longest-prefix match over connected networks and the lab's routes: the interface a
    /// packet leaves by and the next hop it is sent to.
    private func route(in namespace: String?, to destination: IPAddress) -> (
        LabInterface, IPAddress
    )? {
        var best: (length: Int, interface: LabInterface, nextHop: IPAddress)?
        func consider(_ length: Int, _ interface: LabInterface, _ nextHop: IPAddress) {
            if best == nil || length > best!.length { best = (length, interface, nextHop) }
        }
        let local = spec.addresses.filter { $0.interface.namespace == namespace }
        for address in local where address.prefix.contains(destination) {
            consider(address.prefix.length, address.interface, destination)
        }
        for route in spec.routes where route.namespace == namespace {
            guard let length = Self.matchLength(route, destination) else { continue }
            let nextHop = route.gateway ?? destination
            let interface =
                route.device.map { LabInterface(name: $0, namespace: namespace) }
                ?? local.first { $0.prefix.contains(nextHop) }?.interface
            if let interface { consider(length, interface, nextHop) }
        }
        return best.map { ($0.interface, $0.nextHop) }
    }
}
