/// A lab file as a picture sees it: boxes (namespaces, the host among them) in an order that
/// keeps cables short, each with its interfaces, addresses, bridges and routes; cables
/// between interfaces. Pure: from the file alone.
public struct LabTopology: Sendable {
    public struct Box: Sendable {
        /// The file's name for the namespace ("host" for the host).
        public var name: String
        /// Forwards between its interfaces: drawn as a router.
        public var forwards: Bool
        /// Interface rows in file order: name, addresses, the bridge it is a port of.
        public var interfaces: [Row]
        /// Bridges of this namespace: name, ports and the bridge's own addresses.
        public var bridges: [(name: String, ports: [String], addresses: [String])]
        /// Routes as `ip route` prints them ("20.0.0.0/24 via 10.0.0.1").
        public var routes: [String]
    }

    public struct Row: Sendable {
        public var name: String
        public var addresses: [String]
        /// The bridge this interface is a port of, if any.
        public var bridge: String?
    }

    public struct Cable: Sendable {
        public var from: (box: Int, row: Int)
        public var to: (box: Int, row: Int)
    }

    public var name: String
    public var boxes: [Box]
    public var cables: [Cable]
    /// The file's `expect` lines as `gruen -> rot (ping)`, `gruen -/-> blau:25 (TCP)`.
    public var intent: [String] = []

    public init(_ spec: LabSpec) {
        name = spec.name
        var order: [String?] = []
        // Chains come out in chain order: walk the cables from the first namespace of the
        // file (the host first when it takes part).
        var neighbours: [String?: [String?]] = [:]
        for veth in spec.veths {
            neighbours[veth.first.namespace, default: []].append(veth.second.namespace)
            neighbours[veth.second.namespace, default: []].append(veth.first.namespace)
        }
        for start in spec.allNamespaces where !order.contains(start) {
            var queue = [start]
            while !queue.isEmpty {
                let next = queue.removeFirst()
                guard !order.contains(next) else { continue }
                order.append(next)
                queue += (neighbours[next] ?? []).filter { !order.contains($0) }
            }
        }
        func displayName(_ namespace: String?) -> String {
            spec.renaming.fileName(ofNamespace: namespace)
        }
        func interfaceName(_ name: String) -> String { spec.renaming.fileName(ofInterface: name) }
        var boxes: [Box] = []
        var rowIndex: [LabInterface: (Int, Int)] = [:]
        for namespace in order {
            let forwards = spec.forwards(namespace)
            var box = Box(
                name: displayName(namespace), forwards: forwards, interfaces: [], bridges: [],
                routes: [])
            let bridges = spec.bridges.filter { $0.bridge.namespace == namespace }
            // Veth ends are rows; a bridge is drawn as the switch its ports hang on.
            let interfaces = spec.veths.flatMap { [$0.first, $0.second] }.filter {
                $0.namespace == namespace
            }
            for interface in interfaces {
                rowIndex[interface] = (boxes.count, box.interfaces.count)
                box.interfaces.append(
                    Row(
                        name: interfaceName(interface.name),
                        addresses: spec.addresses.filter { $0.interface == interface }.map {
                            $0.prefix.description
                        }
                            + spec.dhcpAddresses.filter { $0.interface == interface }.map { _ in
                                "dhcp"
                            },
                        bridge: bridges.first { $0.ports.contains(interface.name) }.map {
                            interfaceName($0.bridge.name)
                        }))
            }
            box.bridges = bridges.map { bridge in
                (
                    interfaceName(bridge.bridge.name), bridge.ports.map(interfaceName),
                    spec.addresses.filter { $0.interface == bridge.bridge }.map {
                        $0.prefix.description
                    }
                )
            }
            box.routes = spec.routes.filter { $0.namespace == namespace }.map { route in
                var text = route.destination?.description ?? "default"
                if let gateway = route.gateway { text += " via \(gateway)" }
                if let device = route.device { text += " dev \(interfaceName(device))" }
                return text
            }
            boxes.append(box)
        }
        self.boxes = boxes
        intent = spec.expectations.map { expectation in
            var target: String
            switch expectation.target {
            case .namespace(let namespace): target = displayName(namespace)
            case .address(let address):
                target =
                    address.isIPv4 || expectation.port == nil ? "\(address)" : "[\(address)]"
            }
            if let port = expectation.port { target += ":\(port)" }
            return
                "\(displayName(expectation.source)) \(expectation.reaches ? "->" : "-/->") \(target) (\(expectation.port == nil ? "ping" : "TCP"))"
        }
        cables = spec.veths.compactMap { veth in
            guard let from = rowIndex[veth.first], let to = rowIndex[veth.second] else {
                return nil
            }
            return Cable(from: from, to: to)
        }
    }
}
