/// The lab as an SVG drawing: boxes in a row (cable order), interfaces with their addresses
/// inside, a cable from end to end (adjacent boxes straight, others arched under the row),
/// switches and routes in their box. Plain SVG 1.1 with inline styles, so any renderer
/// (browsers, rsvg-convert) draws it the same.
enum LabGraphSVG {
    private static let boxWidth = 250
    private static let gap = 110
    private static let margin = 30
    private static let header = 34
    private static let line = 17
    private static let top = 60

    private struct Placed {
        var x: Int
        var height: Int
        /// The y of each interface row's cable point.
        var rowY: [Int]
    }

    static func render(_ topology: LabTopology) -> String {
        var placed: [Placed] = []
        for (index, box) in topology.boxes.enumerated() {
            var y = top + header + 8
            var rowY: [Int] = []
            for interface in box.interfaces {
                rowY.append(y + 4)
                y += line * (1 + interface.addresses.count) + 8
            }
            y += line * (box.bridges.count + box.routes.count) + (box.routes.isEmpty ? 0 : 6)
            placed.append(
                Placed(x: margin + index * (boxWidth + gap), height: y - top + 6, rowY: rowY))
        }
        let bottom = top + (placed.map(\.height).max() ?? 0)
        let arched = topology.cables.filter { abs($0.from.box - $0.to.box) > 1 }.count
        let width = max(margin * 2 + placed.count * (boxWidth + gap) - gap, 320)
        let intentTop = bottom + 40 + arched * 22
        let height = intentTop + (topology.intent.isEmpty ? 0 : line * (topology.intent.count + 1))
        var out: [String] = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"13\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>",
            "<text x=\"\(margin)\" y=\"32\" font-size=\"18\" font-weight=\"bold\" fill=\"#222222\">lab \(escape(topology.name))</text>",
        ]
        var arch = 0
        for cable in topology.cables {
            let (a, b) =
                cable.from.box <= cable.to.box ? (cable.from, cable.to) : (cable.to, cable.from)
            let left = placed[a.box]
            let right = placed[b.box]
            let y1 = left.rowY[a.row]
            let y2 = right.rowY[b.row]
            if a.box == b.box {
                let x = left.x + boxWidth
                out.append(path("M \(x) \(y1) C \(x + 40) \(y1), \(x + 40) \(y2), \(x) \(y2)"))
            } else if b.box - a.box == 1 {
                let x1 = left.x + boxWidth
                let x2 = right.x
                out.append(
                    path(
                        "M \(x1) \(y1) C \(x1 + gap / 2) \(y1), \(x2 - gap / 2) \(y2), \(x2) \(y2)")
                )
            } else {
                // Around the boxes in between: down the gap, under the row, up the gap.
                arch += 1
                let low = bottom + 12 + arch * 22
                let x1 = left.x + boxWidth
                let x2 = right.x
                // Each arched cable goes down its own lane, so none hides another.
                let down = x1 + 12 + arch * 12
                out.append(
                    path(
                        "M \(x1) \(y1) L \(down) \(y1) L \(down) \(low) L \(x2 - gap / 3) \(low) L \(x2 - gap / 3) \(y2) L \(x2) \(y2)"
                    ))
            }
        }
        for (index, box) in topology.boxes.enumerated() {
            let place = placed[index]
            let (fill, stroke) = box.forwards ? ("#fff4e0", "#c17d11") : ("#eef5ff", "#3465a4")
            out.append(
                "<rect x=\"\(place.x)\" y=\"\(top)\" width=\"\(boxWidth)\" height=\"\(place.height)\" rx=\"10\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"2\"/>"
            )
            out.append(
                "<text x=\"\(place.x + 12)\" y=\"\(top + 23)\" font-size=\"15\" font-weight=\"bold\" fill=\"\(stroke)\">\(escape(box.name))\(box.forwards ? " ⇄ router" : "")</text>"
            )
            for (row, interface) in box.interfaces.enumerated() {
                let y = place.rowY[row]
                var name = interface.name
                if let bridge = interface.bridge { name += " (port of \(bridge))" }
                out.append(
                    "<circle cx=\"\(place.x + 8)\" cy=\"\(y)\" r=\"3\" fill=\"#2e7d32\"/><circle cx=\"\(place.x + boxWidth - 8)\" cy=\"\(y)\" r=\"3\" fill=\"#2e7d32\"/>"
                )
                out.append(text(place.x + 18, y + 5, name, bold: true))
                for (offset, address) in interface.addresses.enumerated() {
                    out.append(text(place.x + 30, y + 5 + line * (offset + 1), address))
                }
            }
            var y =
                (place.rowY.last.map {
                    $0 + line * (1 + (box.interfaces.last?.addresses.count ?? 0))
                } ?? top + header + 12) + 4
            for bridge in box.bridges {
                out.append(
                    "<text x=\"\(place.x + 18)\" y=\"\(y + 5)\" fill=\"#5c3566\">▦ switch \(escape(([bridge.name] + bridge.addresses).joined(separator: " "))): \(escape(bridge.ports.joined(separator: " ")))</text>"
                )
                y += line
            }
            if !box.routes.isEmpty { y += 6 }
            for route in box.routes {
                out.append(
                    "<text x=\"\(place.x + 18)\" y=\"\(y + 5)\" fill=\"#555753\" font-size=\"12\">→ \(escape(route))</text>"
                )
                y += line
            }
        }
        // The file's intent, under the picture: what must and must not reach what.
        for (index, intent) in topology.intent.enumerated() {
            out.append(
                "<text x=\"\(margin)\" y=\"\(intentTop + line * index)\" fill=\"#204a87\" font-size=\"12\">expect \(escape(intent))</text>"
            )
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private static func path(_ d: String) -> String {
        "<path d=\"\(d)\" fill=\"none\" stroke=\"#2e7d32\" stroke-width=\"3\"/>"
    }

    private static func text(_ x: Int, _ y: Int, _ content: String, bold: Bool = false) -> String {
        "<text x=\"\(x)\" y=\"\(y)\" fill=\"#222222\"\(bold ? " font-weight=\"bold\"" : "")>\(escape(content))</text>"
    }

    /// XML text: &, < and > (and quotes, for attributes) as entities.
    private static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
