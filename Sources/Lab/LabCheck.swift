import Glibc
import Namespaces
public import Netlink

/// One probe of `check`: from a namespace to an address of another.
public struct LabProbeResult: Sendable {
    public var source: String?
    public var destinationNamespace: String?
    public var address: IPAddress
    /// What the lab file implies.
    public var expected: Bool
    /// What the probe found; nil when not probed (from the real host towards an address the
    /// lab does not route there: the probe could leave the machine by the host's default route).
    public var actual: Bool?
    /// Why an expected path failed, found in the kernel's state along it (nil: not failed,
    /// or nothing found).
    public var cause: String?

    public var matches: Bool { actual == nil || actual == expected }
}

/// The reachability matrix of a lab.
public struct LabCheckResult: Sendable {
    public var probes: [LabProbeResult]
    public var passed: Bool { probes.allSatisfy(\.matches) }

    /// Rows: source namespaces; columns: addresses. `ok` reached as expected, `--` not reached
    /// as expected, `OK!`/`--!` the opposite of what the lab implies, `n/a` not probed.
    public func matrix(namespaceName: (String?) -> String = { $0 ?? "host" }) -> String {
        var sources: [String?] = []
        var columns: [(String?, IPAddress)] = []
        for probe in probes {
            if !sources.contains(where: { $0 == probe.source }) { sources.append(probe.source) }
            if !columns.contains(where: {
                $0.0 == probe.destinationNamespace && $0.1 == probe.address
            }) {
                columns.append((probe.destinationNamespace, probe.address))
            }
        }
        let headers = columns.map { "\(namespaceName($0.0)):\($0.1)" }
        let firstWidth = max(4, sources.map { namespaceName($0).count }.max() ?? 0) + 2
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        var lines = [pad("from", firstWidth) + headers.map { pad($0, $0.count + 2) }.joined()]
        var footnotes: [String] = []
        for source in sources {
            var line = pad(namespaceName(source), firstWidth)
            for (index, column) in columns.enumerated() {
                let probe = probes.first {
                    $0.source == source && $0.destinationNamespace == column.0
                        && $0.address == column.1
                }
                let cell: String
                switch (probe?.expected, probe?.actual) {
                case (nil, _): cell = "."
                case (_, nil): cell = "n/a"
                case (true, true): cell = "ok"
                case (false, false): cell = "--"
                case (false, true): cell = "OK!"
                case (true, false):
                    if let cause = probe?.cause {
                        footnotes.append(
                            "[\(footnotes.count + 1)] \(namespaceName(source)) -> \(headers[index]): \(cause)"
                        )
                        cell = "--!\(footnotes.count)"
                    } else {
                        cell = "--!"
                    }
                default: cell = "?"
                }
                line += pad(cell, headers[index].count + 2)
            }
            lines.append(line)
        }
        return (lines + footnotes).joined(separator: "\n")
    }
}

extension Lab {
    /// Adds a cause to every probe that should have passed and did not.
    static func explained(_ probes: [LabProbeResult], spec: LabSpec, model: LabReachability)
        -> [LabProbeResult]
    {
        guard probes.contains(where: { $0.expected && $0.actual == false }),
            let observation = try? LabObservation(spec, context: LabContext())
        else { return probes }
        return probes.map { probe in
            var probe = probe
            if probe.expected && probe.actual == false {
                probe.cause = LabDiagnosis.cause(
                    of: probe, spec: spec, model: model, observation: observation)
            }
            return probe
        }
    }

    /// Probes every (namespace, address of another namespace) pair of the lab with a TCP
    /// connect from a thread inside the source to a listener inside the destination, and
    /// compares with what the lab file implies. Probes run concurrently.
    public static func check(_ spec: LabSpec, timeoutMilliseconds: Int32 = 400) async throws
        -> LabCheckResult
    {
        // Addresses and default routes that DHCP gave (`addr … dhcp`) are probed like the
        // file's own.
        let leases = (try? LabState.load(spec.instanceName))??.leases ?? []
        let spec = spec.adding(leases)
        let model = LabReachability(spec)
        let namespaces = spec.allNamespaces
        // A lab that is down has nothing to probe: say so instead of a matrix of failures.
        if !spec.namespaces.isEmpty,
            !spec.namespaces.contains(where: { NetworkNamespace.exists($0.name) })
        {
            let first = spec.namespaces.first { $0.line > 0 } ?? spec.namespaces[0]
            throw LabError(
                location: spec.location(first.line),
                message:
                    "lab \(spec.name) is not up: netns \(spec.renaming.fileName(ofNamespace: first.name)) does not exist (mlab lab up \(spec.file))"
            )
        }
        // An address that cannot be listened on (missing, or its link gone) is a column of
        // failed probes, explained like any other: the matrix is printed all the same.
        var listeners: [(LabAddress, ProbeListener?)] = []
        for address in spec.addresses {
            let listener = try? LabProbe.listen(
                in: address.interface.namespace, address: address.prefix.address)
            listeners.append((address, listener))
        }
        defer { listeners.removeAll() }
        var planned: [LabProbeResult] = []
        for source in namespaces {
            for (address, listener) in listeners where address.interface.namespace != source {
                let expected = model.reaches(from: source, to: address.prefix.address)
                planned.append(
                    LabProbeResult(
                        source: source, destinationNamespace: address.interface.namespace,
                        address: address.prefix.address, expected: expected,
                        actual: listener == nil && (source != nil || expected) ? false : nil))
            }
        }
        let ports = listeners.map { $0.1?.port }
        let targets = listeners.map(\.0.prefix.address)
        let results = try await withThrowingTaskGroup(of: (Int, Bool?).self) { group in
            for (index, probe) in planned.enumerated() {
                // From the real host, only probe what the lab routes: anything else could leave the machine.
                if probe.source == nil && !probe.expected { continue }
                guard let port = ports[targets.firstIndex(of: probe.address)!] else { continue }
                let source = probe.source
                let address = probe.address
                group.addTask {
                    let reached = try await NetworkNamespace.run(in: source) { () throws -> Bool in
                        try LabProbe.connectHere(
                            to: address, port: port, timeoutMilliseconds: timeoutMilliseconds)
                    }
                    return (index, reached)
                }
            }
            var found = planned
            for try await (index, reached) in group { found[index].actual = reached }
            return found
        }
        return LabCheckResult(probes: explained(results, spec: spec, model: model))
    }
}
