/// Pictures of a lab file, drawn like the course's slides: namespaces as boxes (forwarding
/// ones marked as routers), veths as cables between their two ends with names and addresses,
/// bridges as switches inside their namespace, routes listed under each box, the file's
/// `expect` lines in a note of their own.
///
/// Equivalent to: containerlab `graph` (DOT, Mermaid), from the file alone.
public enum LabGraph {
    public enum Format: String, Sendable, CaseIterable {
        case svg, dot, mermaid
    }

    public static func render(_ spec: LabSpec, as format: Format) -> String {
        let topology = LabTopology(spec)
        switch format {
        case .svg: return LabGraphSVG.render(topology)
        case .dot: return dot(topology)
        case .mermaid: return mermaid(topology)
        }
    }

    /// Graphviz: one record node per namespace, one port per interface, cables as edges.
    static func dot(_ topology: LabTopology) -> String {
        var lines = [
            "graph \"\(escape(topology.name))\" {", "  rankdir=LR;", "  node [shape=record];",
        ]
        for (index, box) in topology.boxes.enumerated() {
            var fields = [escape(box.forwards ? "\(box.name) (router)" : box.name)]
            for (row, interface) in box.interfaces.enumerated() {
                var text = interface.name
                if !interface.addresses.isEmpty {
                    text += "\\n" + interface.addresses.joined(separator: "\\n")
                }
                if let bridge = interface.bridge { text += "\\n(port of \(bridge))" }
                fields.append("<i\(row)> \(escape(text))")
            }
            for bridge in box.bridges {
                let addresses =
                    bridge.addresses.isEmpty ? "" : " " + bridge.addresses.joined(separator: " ")
                fields.append(
                    escape(
                        "switch \(bridge.name)\(addresses): \(bridge.ports.joined(separator: " "))")
                )
            }
            for route in box.routes { fields.append(escape("route \(route)")) }
            lines.append("  n\(index) [label=\"{\(fields.joined(separator: "|"))}\"];")
        }
        for cable in topology.cables {
            lines.append(
                "  n\(cable.from.box):i\(cable.from.row) -- n\(cable.to.box):i\(cable.to.row);")
        }
        if !topology.intent.isEmpty {
            // A plain label (not a record): only quotes and backslashes are syntax; \l ends a
            // left-aligned line.
            let text = topology.intent.map { intent in
                var out = ""
                for character in "expect " + intent {
                    if character == "\"" || character == "\\" { out.append("\\") }
                    out.append(character)
                }
                return out + "\\l"
            }.joined()
            lines.append("  intent [shape=note, label=\"\(text)\"];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mermaid flowchart: a subgraph per namespace, a node per interface, cables as links.
    static func mermaid(_ topology: LabTopology) -> String {
        var lines = ["flowchart LR"]
        for (index, box) in topology.boxes.enumerated() {
            lines.append(
                "  subgraph n\(index)[\"\(quote(box.forwards ? "\(box.name) (router)" : box.name))\"]"
            )
            for (row, interface) in box.interfaces.enumerated() {
                let text = ([interface.name] + interface.addresses).joined(separator: "<br>")
                lines.append("    n\(index)i\(row)[\"\(quote(text))\"]")
            }
            for (offset, bridge) in box.bridges.enumerated() {
                let text = (["switch \(bridge.name)"] + bridge.addresses).joined(separator: "<br>")
                lines.append("    n\(index)b\(offset){{\"\(quote(text))\"}}")
                for (row, interface) in box.interfaces.enumerated()
                where interface.bridge == bridge.name {
                    lines.append("    n\(index)b\(offset) --- n\(index)i\(row)")
                }
            }
            if !box.routes.isEmpty {
                let text = box.routes.map { "route " + $0 }.joined(separator: "<br>")
                lines.append("    n\(index)r[\"\(quote(text))\"]")
            }
            lines.append("  end")
        }
        for cable in topology.cables {
            lines.append(
                "  n\(cable.from.box)i\(cable.from.row) === n\(cable.to.box)i\(cable.to.row)")
        }
        if !topology.intent.isEmpty {
            let text = topology.intent.map { "expect " + $0 }.joined(separator: "<br>")
            lines.append("  intent[\"\(quote(text))\"]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// DOT record labels: braces, bars, angle brackets and quotes are syntax.
    private static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            if "{}|<>\"".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// Mermaid labels in quotes: a quote becomes its entity.
    private static func quote(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\"" { out += "#quot;" } else { out.append(character) }
        }
        return out
    }
}
