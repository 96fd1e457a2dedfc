import Netlink

/// Why a probe that the file says should pass did not: the path the file implies, walked hop
/// by hop through the kernel's actual state (`LabObservation`), and the first thing on it that
/// is not as the file says: an end in another namespace, a link down (which end), a missing
/// address or route, forwarding off.
enum LabDiagnosis {
    static func cause(
        of probe: LabProbeResult, spec: LabSpec, model: LabReachability,
        observation: LabObservation
    ) -> String? {
        guard let (forward, back) = model.path(from: probe.source, to: probe.address) else {
            return nil
        }
        let names = spec.renaming
        func ns(_ namespace: String?) -> String { names.fileName(ofNamespace: namespace) }
        func at(_ interface: LabInterface) -> String { names.fileName(of: interface) }
        // Each end must be where the file puts it (an end moved away is not in its snapshot).
        func whereIs(_ interface: LabInterface) -> String? {
            guard observation[interface.namespace].link(interface.name) == nil else { return nil }
            for (namespace, snapshot) in observation.namespaces
            where namespace != interface.namespace && snapshot.link(interface.name) != nil {
                return "\(at(interface)) is in \(ns(namespace)), not in \(ns(interface.namespace))"
            }
            return "\(at(interface)) does not exist"
        }
        for (direction, hops) in [("", forward), ("way back: ", back)] {
            for hop in hops {
                let here = observation[hop.namespace]
                let peer = hop.neighbour.interface
                if let problem = whereIs(hop.interface) ?? whereIs(peer) {
                    return direction + problem
                }
                guard let link = here.link(hop.interface.name) else { continue }
                if !link.isUp { return direction + "\(at(hop.interface)) is down" }
                if let other = observation[peer.namespace].link(peer.name), !other.isUp {
                    return direction + "\(at(peer)) is down"
                }
                if !link.hasCarrier { return direction + "\(at(hop.interface)) has no carrier" }
                if let connected = hop.connected,
                    !here.addresses.contains(where: {
                        $0.linkIndex == link.index && $0.prefix == connected.prefix
                    })
                {
                    return direction
                        + "address \(connected.prefix) missing on \(at(hop.interface)) (line \(connected.line))"
                }
                if let route = hop.route {
                    let family = route.destination?.address.family ?? route.gateway?.family
                    let present = here.routes.contains {
                        $0.family == family && $0.destination?.network == route.destination
                            && $0.gateway == route.gateway
                    }
                    if !present {
                        let target = route.destination.map { "\($0)" } ?? "default"
                        return direction
                            + "no route in \(ns(hop.namespace)) to \(target) (line \(route.line))"
                    }
                }
                let neighbourSnapshot = observation[peer.namespace]
                if let neighbourLink = neighbourSnapshot.link(peer.name),
                    !neighbourSnapshot.addresses.contains(where: {
                        $0.linkIndex == neighbourLink.index && $0.prefix == hop.neighbour.prefix
                    })
                {
                    return direction
                        + "address \(hop.neighbour.prefix) missing on \(at(peer)) (line \(hop.neighbour.line))"
                }
                // The next namespace may be the host (`forward host`): nil is a namespace here.
                if hop.mustForward, let forwarding = observation[peer.namespace].forwarding,
                    !(probe.address.isIPv4 ? forwarding.ipv4 : forwarding.ipv6)
                {
                    return direction + "forwarding off in \(ns(peer.namespace))"
                }
            }
        }
        return "every hop looks as the file says (something outside the lab's objects?)"
    }
}
