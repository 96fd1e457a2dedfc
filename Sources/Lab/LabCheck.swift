import Glibc
import LinuxSystem
import Namespaces
public import Netlink

/// How one cell of `check` is probed.
public enum LabProbeKind: Sendable, Hashable {
    /// A TCP connect; nil port: to a listener `check` opens on a free port (derived intent).
    case tcp(port: UInt16?)
    /// An ICMP echo request (`expect` without a port).
    case icmp
}

/// One probe of `check`: from a namespace to an address of another.
public struct LabProbeResult: Sendable {
    public var source: String?
    public var destinationNamespace: String?
    public var address: IPAddress
    public var kind: LabProbeKind = .tcp(port: nil)
    /// The `expect` line the cell comes from (nil: derived from the file).
    public var line: Int?
    /// The intent: the `expect` line's arrow; without `expect` lines, what the file means
    /// (the ends of a link, the target of a route) or lets through.
    public var expected: Bool
    /// Whether the file's own objects give a path there and back.
    public var fileAllows: Bool
    /// What the probe found; nil when not probed (from the real host towards an address the
    /// lab does not route there: the probe could leave the machine by the host's default route).
    public var actual: Bool?
    /// Why the cell is not as intended: in the file itself, or in the kernel's state along the
    /// path (nil: as intended, or nothing found).
    public var cause: String?

    /// As intended. A cell not probed fails only when it should be reached and the file
    /// itself gives it no path.
    public var matches: Bool {
        guard let actual else { return !expected || fileAllows }
        return actual == expected
    }
}

/// The reachability matrix of a lab.
public struct LabCheckResult: Sendable {
    public var probes: [LabProbeResult]
    /// Namespaces no probe starts from: they have no address in the file (a switch).
    public var silent: [String?] = []
    /// True when the cells come from `expect` lines.
    public var fromExpectLines = false
    public var passed: Bool { probes.allSatisfy(\.matches) }
}

extension Lab {
    /// Adds a cause to every cell that is not as intended: the file's own mistake when it
    /// gives no path although one is expected (or gives one that must not exist), else the
    /// first thing along the path that the kernel has not as the file says.
    static func explained(_ probes: [LabProbeResult], spec: LabSpec, model: LabReachability)
        -> [LabProbeResult]
    {
        var observation: LabObservation??
        func observed() -> LabObservation? {
            if observation == nil {
                observation = .some(try? LabObservation(spec, context: LabContext()))
            }
            return observation!
        }
        return probes.map { probe in
            var probe = probe
            guard !probe.matches else { return probe }
            if probe.expected {
                probe.cause =
                    model.fileCause(from: probe.source, to: probe.address)
                    ?? observed().flatMap {
                        LabDiagnosis.cause(of: probe, spec: spec, model: model, observation: $0)
                    }
            } else if probe.fileAllows, let path = model.path(from: probe.source, to: probe.address)
            {
                let names = ([probe.source] + path.forward.map(\.neighbour.interface.namespace))
                    .map(spec.renaming.fileName(ofNamespace:))
                probe.cause = "the file lets it through: " + names.joined(separator: " -> ")
            } else {
                probe.cause = "the file gives no path: something outside the lab's objects does"
            }
            return probe
        }
    }

    /// The cells to probe: each `expect` line's, else every (namespace, address of another
    /// namespace) pair, meant to be reached where the file lets it through, where its links
    /// join the two, or where a route of the source points at it.
    static func plannedProbes(_ spec: LabSpec, model: LabReachability) -> [LabProbeResult] {
        var planned: [LabProbeResult] = []
        let sources = spec.allNamespaces.filter { namespace in
            spec.addresses.contains { $0.interface.namespace == namespace }
        }
        guard !spec.expectations.isEmpty else {
            for source in sources {
                for address in spec.addresses where address.interface.namespace != source {
                    let reaches = model.reaches(from: source, to: address.prefix.address)
                    planned.append(
                        LabProbeResult(
                            source: source, destinationNamespace: address.interface.namespace,
                            address: address.prefix.address,
                            expected: reaches
                                || model.intended(from: source, to: address.prefix.address),
                            fileAllows: reaches))
                }
            }
            return planned
        }
        for expectation in spec.expectations {
            let targets = spec.addresses.filter {
                switch expectation.target {
                case .address(let address): $0.prefix.address == address
                case .namespace(let namespace): $0.interface.namespace == namespace
                }
            }
            let kind = expectation.port.map { LabProbeKind.tcp(port: $0) } ?? .icmp
            for target in targets where target.interface.namespace != expectation.source {
                let address = target.prefix.address
                // The first line about a cell wins.
                if planned.contains(where: {
                    $0.source == expectation.source && $0.address == address && $0.kind == kind
                }) {
                    continue
                }
                planned.append(
                    LabProbeResult(
                        source: expectation.source,
                        destinationNamespace: target.interface.namespace,
                        address: address, kind: kind, line: expectation.line,
                        expected: expectation.reaches,
                        fileAllows: model.reaches(from: expectation.source, to: address)))
            }
        }
        return planned
    }

    /// Probes the lab: with `expect` lines, each line's cells (ICMP echo, or TCP to the
    /// line's port: to the lab's server there, else to a listener `check` opens on it);
    /// without, every (namespace, address of another namespace) pair with a TCP connect to a
    /// listener on a free port. Each probe runs on a thread inside its source namespace, all
    /// at once; each cell is compared with the intent, and a cell not as intended is explained.
    public static func check(_ spec: LabSpec, timeoutMilliseconds: Int32 = 400) async throws
        -> LabCheckResult
    {
        // Addresses and default routes that DHCP gave (`addr … dhcp`) are probed like the
        // file's own.
        let leases = (try? LabState.load(spec.instanceName))??.leases ?? []
        let spec = spec.adding(leases)
        let model = LabReachability(spec)
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
        var planned = plannedProbes(spec, model: model)
        // An address that cannot be listened on (missing, or its link gone) is a column of
        // failed probes, explained like any other: the matrix is printed all the same.
        var listeners: [ListenerKey: ProbeListener] = [:]
        var ports: [ListenerKey: UInt16] = [:]
        for probe in planned {
            guard case .tcp(let port) = probe.kind else { continue }
            let key = ListenerKey(address: probe.address, port: port)
            guard ports[key] == nil, listeners[key] == nil else { continue }
            do {
                let listener = try LabProbe.listen(
                    in: probe.destinationNamespace, address: probe.address, port: port ?? 0)
                listeners[key] = listener
                ports[key] = listener.port
            } catch let error as SystemError where error.errno == EADDRINUSE {
                // A server of the lab (or of the user) listens there already: probe it.
                ports[key] = port
            } catch {
                continue
            }
        }
        defer { listeners.removeAll() }
        for index in planned.indices {
            guard case .tcp(let port) = planned[index].kind,
                ports[ListenerKey(address: planned[index].address, port: port)] == nil,
                planned[index].source != nil || planned[index].fileAllows
            else { continue }
            planned[index].actual = false
        }
        let found = try await withThrowingTaskGroup(of: (Int, Bool?).self) { group in
            for (index, probe) in planned.enumerated() where probe.actual == nil {
                // From the real host, only probe what the lab routes: anything else could leave the machine.
                if probe.source == nil && !probe.fileAllows { continue }
                let source = probe.source
                let address = probe.address
                switch probe.kind {
                case .tcp(let wanted):
                    guard let port = ports[ListenerKey(address: address, port: wanted)] else {
                        continue
                    }
                    group.addTask {
                        let reached = try await NetworkNamespace.run(in: source) {
                            () throws -> Bool in
                            try LabProbe.connectHere(
                                to: address, port: port, timeoutMilliseconds: timeoutMilliseconds)
                        }
                        return (index, reached)
                    }
                case .icmp:
                    group.addTask {
                        // A thread to wait on; the socket itself is opened inside `source`.
                        let reached = try await NetworkNamespace.run(in: nil) { () -> Bool in
                            LabProbe.echo(
                                from: source, to: address, timeoutMilliseconds: timeoutMilliseconds)
                        }
                        return (index, reached)
                    }
                }
            }
            var found = planned
            for try await (index, reached) in group { found[index].actual = reached }
            return found
        }
        return LabCheckResult(
            probes: explained(found, spec: spec, model: model),
            silent: spec.allNamespaces.filter { namespace in
                spec.interfaces.contains { $0.namespace == namespace }
                    && !spec.addresses.contains { $0.interface.namespace == namespace }
            },
            fromExpectLines: !spec.expectations.isEmpty)
    }

    /// A listener of `check`: an address and the port asked for (nil: any free one).
    private struct ListenerKey: Hashable {
        var address: IPAddress
        var port: UInt16?
    }
}
