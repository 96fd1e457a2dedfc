/// The layer-2 networks of a lab: a veth joins its two ends, a bridge joins itself and the
/// peers of its ports. Interfaces on one segment reach each other without routing.
struct LabSegments {
    private var parent: [LabInterface: LabInterface] = [:]

    init(_ spec: LabSpec) {
        for veth in spec.veths { union(veth.first, veth.second) }
        for bridge in spec.bridges {
            for port in bridge.ports {
                union(bridge.bridge, LabInterface(name: port, namespace: bridge.bridge.namespace))
            }
        }
    }

    /// A representative of the segment `interface` is on.
    func segment(of interface: LabInterface) -> LabInterface {
        var current = interface
        while let next = parent[current], next != current { current = next }
        return current
    }

    private mutating func union(_ a: LabInterface, _ b: LabInterface) {
        let rootA = segment(of: a)
        let rootB = segment(of: b)
        if rootA != rootB { parent[rootA] = rootB }
    }
}
