/// `check`'s result for people (the matrix, its legend and footnotes) and for graders (JSON).
extension LabCheckResult {
    /// What each cell symbol means, printed under every matrix.
    public static let legend = [
        "legend: rows are \"from\" (the namespace a probe starts in), columns \"to\" (namespace:address, with :PORT for TCP to that port or :icmp for ping)",
        "  ok   reached, as intended          --   not reached, as intended",
        "  OK!  reached, but must not be      --!N not reached, but must be: see footnote N",
        "  .    not probed: no intent for this pair (its own address, or no expect line covers it)",
        "  n/a  not probed: from the real host to an address the lab does not route there (the probe could leave the machine)",
    ]

    /// The symbol of a cell, without its footnote number.
    static func symbol(_ probe: LabProbeResult) -> String {
        switch (probe.expected, probe.actual) {
        case (true, true): "ok"
        case (false, false): "--"
        case (false, true): "OK!"
        case (true, false): "--!"
        case (true, nil): probe.matches ? "n/a" : "--!"
        case (false, nil): "n/a"
        }
    }

    /// The column heading of a cell: `rot:20.0.0.2`, `rot:20.0.0.2:25`, `rot:[fd00::2]:25`,
    /// `rot:20.0.0.2:icmp`.
    static func column(_ probe: LabProbeResult, _ namespaceName: (String?) -> String) -> String {
        let address = probe.address.isIPv4 ? "\(probe.address)" : "[\(probe.address)]"
        let plain = "\(namespaceName(probe.destinationNamespace)):\(probe.address)"
        switch probe.kind {
        case .tcp(nil): return plain
        case .tcp(let port?):
            return "\(namespaceName(probe.destinationNamespace)):\(address):\(port)"
        case .icmp: return plain + ":icmp"
        }
    }

    /// Rows "from" (source namespaces), columns "to" (addresses, with the probe), a legend,
    /// then a footnote per cell not as intended that has a cause, and a line per namespace
    /// without a row.
    public func matrix(namespaceName: (String?) -> String = { $0 ?? "host" }) -> String {
        var sources: [String?] = []
        for probe in probes where !sources.contains(where: { $0 == probe.source }) {
            sources.append(probe.source)
        }
        // Columns in the rows' order of namespaces (a namespace without a row last), so
        // that the diagonal of `.` cells is where one looks for it.
        var columns: [(rank: Int, header: String)] = []
        for probe in probes {
            let header = Self.column(probe, namespaceName)
            if columns.contains(where: { $0.header == header }) { continue }
            let rank =
                sources.firstIndex { $0 == probe.destinationNamespace } ?? sources.count
            columns.append((rank, header))
        }
        let headers = columns.enumerated().sorted {
            ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset)
        }
        .map(\.element.header)
        let corner = "from \\ to"
        let firstWidth = max(corner.count, sources.map { namespaceName($0).count }.max() ?? 0) + 2
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        var lines = [pad(corner, firstWidth) + headers.map { pad($0, $0.count + 2) }.joined()]
        var footnotes: [String] = []
        for source in sources {
            var line = pad(namespaceName(source), firstWidth)
            for header in headers {
                var cell = "."
                if let probe = probes.first(where: {
                    $0.source == source && Self.column($0, namespaceName) == header
                }) {
                    cell = Self.symbol(probe)
                    if let cause = probe.cause {
                        footnotes.append(
                            "[\(footnotes.count + 1)] \(namespaceName(source)) -> \(header): \(cause)"
                        )
                        if cell == "--!" {
                            cell += "\(footnotes.count)"
                        } else {
                            cell += " [\(footnotes.count)]"
                        }
                    }
                }
                line += pad(cell, header.count + 2)
            }
            lines.append(line)
        }
        if probes.isEmpty {
            lines.append("(nothing to probe: no namespace has an address in the file)")
        }
        for namespace in silent {
            lines.append(
                "(no row for \(namespaceName(namespace)): it has links but no address in the file, so nothing is sent from it)"
            )
        }
        return (lines + Self.legend + footnotes).joined(separator: "\n")
    }

    /// The result for graders, one JSON object (schema in docs/LABS.md):
    /// `{"lab","file","passed","intent":"expect"|"derived","cells":[{"from","to","address",
    /// "probe","port","line","expected","observed","cell","passed","cause"}],"silent":[…]}`.
    public func json(
        lab: String, file: String, namespaceName: (String?) -> String = { $0 ?? "host" }
    )
        -> String
    {
        let string = Self.jsonString
        func bool(_ value: Bool?) -> String { value.map { $0 ? "true" : "false" } ?? "null" }
        let cells = probes.map { probe in
            let (kind, port): (String, String) =
                switch probe.kind {
                case .tcp(let port): ("tcp", port.map { "\($0)" } ?? "null")
                case .icmp: ("icmp", "null")
                }
            let fields = [
                "\"from\":\(string(namespaceName(probe.source)))",
                "\"to\":\(string(namespaceName(probe.destinationNamespace)))",
                "\"address\":\(string("\(probe.address)"))",
                "\"probe\":\(string(kind))", "\"port\":\(port)",
                "\"line\":\(probe.line.map { "\($0)" } ?? "null")",
                "\"expected\":\(bool(probe.expected))", "\"observed\":\(bool(probe.actual))",
                "\"cell\":\(string(Self.symbol(probe)))", "\"passed\":\(bool(probe.matches))",
                "\"cause\":\(string(probe.cause))",
            ]
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "{\"lab\":\(string(lab)),\"file\":\(string(file)),\"passed\":\(bool(passed)),"
            + "\"intent\":\(string(fromExpectLines ? "expect" : "derived")),"
            + "\"cells\":[" + cells.joined(separator: ",") + "],"
            + "\"silent\":[" + silent.map { string(namespaceName($0)) }.joined(separator: ",")
            + "]}"
    }

    /// `check --json` when there is no matrix (the lab is not up): the same object with no
    /// cells, `passed` false and the error.
    public static func json(lab: String, file: String, error: String) -> String {
        "{\"lab\":\(jsonString(lab)),\"file\":\(jsonString(file)),\"passed\":false,"
            + "\"error\":\(jsonString(error)),\"cells\":[],\"silent\":[]}"
    }

    /// `text` as a JSON string (nil: `null`).
    static func jsonString(_ text: String?) -> String {
        guard let text else { return "null" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
