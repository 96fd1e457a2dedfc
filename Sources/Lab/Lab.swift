import DHCP
import DHCPClient
import Glibc
import LinuxSystem
import Namespaces
import Netlink

/// A failure of `up`, `down` or `status`, with the lab file line it concerns.
public struct LabError: Error, Sendable, CustomStringConvertible {
    /// `FILE:LINE` of the statement whose step failed, or the file alone.
    public var location: String
    public var message: String
    /// Undo steps that themselves failed during rollback (empty: everything was undone).
    public var rollbackFailures: [String] = []
    /// The changes a failed `up` had made and undid, in the file's words, in undo order.
    public var rolledBack: [String] = []
    /// The lab file, for the rollback line.
    public var file: String = ""

    public var description: String {
        var text = "\(location): \(message)"
        if !file.isEmpty {
            text +=
                rolledBack.isEmpty
                ? "\n\(file): up changed nothing before it failed"
                : "\n\(file): up rolled back the \(changes(rolledBack.count)) it had made: "
                    + rolledBack.joined(separator: ", ")
        }
        for failure in rollbackFailures { text += "\n\(location): rollback: \(failure)" }
        return text
    }
}

/// "1 change", "2 changes".
public func changes(_ count: Int) -> String { count == 1 ? "1 change" : "\(count) changes" }

/// Called after each step `up` applies, with the step's index; a throw makes `up` fail there
/// and roll back. Tests use it to fail every step in turn.
public typealias LabFaultInjection = (_ index: Int, _ step: LabStep) throws -> Void

/// What `up` did.
public struct LabUpReport: Sendable {
    /// The steps applied, in order (empty: the network was already up).
    public var applied: [LabStep]
    /// The servers started (for the first time, or again after they died), ready.
    public var started: [(server: LabServer, record: LabServerRecord)] = []
    /// The DHCP leases taken for `addr IF@NS dhcp` (a lease still held is not taken again).
    public var leases: [LabState.Lease] = []
    public var isUnchanged: Bool { applied.isEmpty && started.isEmpty && leases.isEmpty }
}

/// Bringing labs up and down, and comparing them with reality.
public enum Lab {
    /// Brings the lab up: creates what is missing, in order, and nothing else, so a second
    /// `up` changes nothing. If a step fails, every step this call applied is undone, in
    /// reverse, before the error is thrown. Refused before anything changes: another lab's
    /// namespace or host network (both files' lines named), an object of the wrong kind in the
    /// way, and — unless `adopt` — a namespace or link that exists but this lab did not make.
    /// What `up` made is recorded in the lab's state file (`LabState`), for `down`.
    ///
    /// Order: the network, then the DHCP servers (`upstream`), then the leases of `addr IF@NS
    /// dhcp`, then the other servers (an smtpd listening on a DHCP address needs it first).
    /// A NIC uplink (`uplink … nic NAME`) is refused unless `allowNICs` names the NIC.
    public static func up(
        _ spec: LabSpec, adopt: Bool = false, allowNICs: Set<String> = [],
        dhcpTimeout: Double = Lab.dhcpTimeout, faultInjection: LabFaultInjection? = nil,
        progress: (LabStep) -> Void = { _ in }
    ) throws(LabError) -> LabUpReport {
        for uplink in spec.nicUplinks where !allowNICs.contains(uplink.nic) {
            throw LabError(
                location: spec.location(uplink.line),
                message:
                    "uplink \(spec.renaming.fileName(of: uplink.bridge)) nic \(uplink.nic): plugging the real NIC \(uplink.nic) into a lab bridge puts the lab on this machine's real network; refused unless named with --allow-nic \(uplink.nic)"
            )
        }
        let previous = try LabState.load(spec.instanceName)
        var state = LabState(claimsOf: spec)
        try LabOwnership.refuseOverlaps(
            spec, claims: state, others: try LabState.others(than: spec.instanceName))
        let context = LabContext()
        let items = try items(spec, context: context)
        let conflicts = items.compactMap { item -> String? in
            if case .conflict(let why) = item.state {
                return
                    "\(spec.location(item.step.line)): \(item.step.summary(spec.renaming)): \(why)"
            }
            return nil
        }
        if !conflicts.isEmpty {
            throw LabError(
                location: spec.file,
                message: "lab \(spec.name) conflicts with what exists (run down first?):\n"
                    + conflicts.joined(separator: "\n"))
        }
        if !adopt {
            try LabOwnership.refuseAdoption(spec, items: items, made: previous?.made ?? [])
        }
        var applied: [(LabStep, Forwarding?)] = []
        var started: [(server: LabServer, record: LabServerRecord)] = []
        var taken: [LabState.Lease] = []
        func fail(_ failure: LabError) -> LabError {
            var failure = failure
            failure.file = spec.file
            // Leases first, while their server still runs.
            for record in taken.reversed() {
                do throws(DHCPClientError) {
                    try DHCPClient.release(
                        record.lease, applied: record.applied, interface: record.interface.name,
                        namespace: record.interface.namespace)
                } catch {
                    failure.rollbackFailures.append("release \(record.lease.address): \(error)")
                }
            }
            for (server, record) in started.reversed() {
                do {
                    _ = try LabServerProcess.stop(record)
                } catch {
                    failure.rollbackFailures.append(
                        "stop \(server.summary(spec.renaming)) (pid \(record.pid)): \(error)")
                }
            }
            failure.rollbackFailures += rollback(applied, context: context).failures
            if previous == nil {
                // Nothing of the lab stays, its server logs neither (the error quotes them).
                FileSystem.removeTree(LabServerProcess.directory(of: spec.instanceName))
            }
            failure.rolledBack =
                taken.reversed().map {
                    "addr \(spec.renaming.fileName(of: $0.interface)) dhcp (released \($0.lease.address))"
                }
                + started.reversed().map { "\($0.server.summary(spec.renaming)) (stopped)" }
                + applied.reversed().map { $0.0.summary(spec.renaming) }
            return failure
        }
        func fail(_ step: LabStep, _ error: any Error) -> LabError {
            let reason = (error as? NetlinkError)?.reason ?? "\(error)"
            return fail(
                LabError(
                    location: spec.location(step.line),
                    message: "\(step.summary(spec.renaming)): \(reason)"))
        }
        for item in items where item.state == .missing {
            do {
                let replaced = try item.step.apply(in: context)
                applied.append((item.step, replaced))
                progress(item.step)
                try faultInjection?(applied.count - 1, item.step)
            } catch {
                throw fail(item.step, error)
            }
        }
        // Servers last, once the network they listen on is up; one still running from an
        // earlier `up` is kept, one that died is started again. DHCP servers first, then the
        // leases they give, then the rest.
        state.servers = previous?.servers ?? []
        let smtpd = LabServerProcess.smtpdPath()
        func start(_ servers: [LabServer]) throws(LabError) {
            for server in servers {
                let index = state.servers.firstIndex { $0.line == server.line }
                if let index, LabServerProcess.isRunning(state.servers[index]) { continue }
                do {
                    let record = try LabServerProcess.start(server, in: spec, smtpd: smtpd)
                    started.append((server, record))
                    if let index {
                        state.servers[index] = record
                    } else {
                        state.servers.append(record)
                    }
                } catch {
                    throw fail(error)
                }
            }
        }
        let isDHCPServer: (LabServer) -> Bool = {
            if case .dhcpServer = $0.kind { return true }
            return false
        }
        try start(spec.servers.filter(isDHCPServer))
        state.leases = previous?.leases ?? []
        for dhcp in spec.dhcpAddresses {
            if let held = state.leases.first(where: {
                $0.line == dhcp.line && $0.interface == dhcp.interface
            }), isApplied(held) {
                continue
            }
            state.leases.removeAll { $0.line == dhcp.line }
            do throws(DHCPClientError) {
                let lease = try DHCPClient.acquire(
                    interface: dhcp.interface.name, namespace: dhcp.interface.namespace,
                    hostName: spec.renaming.fileName(ofNamespace: dhcp.interface.namespace),
                    timeout: dhcpTimeout)
                let applied = try DHCPClient.apply(
                    lease, interface: dhcp.interface.name, namespace: dhcp.interface.namespace)
                let record = LabState.Lease(
                    line: dhcp.line, interface: dhcp.interface, lease: lease, applied: applied)
                taken.append(record)
                state.leases.append(record)
            } catch {
                throw fail(
                    LabError(
                        location: spec.location(dhcp.line),
                        message: "addr \(spec.renaming.fileName(of: dhcp.interface)) dhcp: \(error)"
                    ))
            }
        }
        try start(spec.servers.filter { !isDHCPServer($0) })
        state.made = previous?.made ?? []
        for (step, replaced) in applied
        where !state.made.contains(where: { $0.action == step.action }) {
            state.made.append(LabState.Change(action: step.action, previous: replaced))
        }
        do {
            try state.save()
        } catch {
            if let last = applied.last?.0 { throw fail(last, error) }
            throw fail(error)
        }
        return LabUpReport(applied: applied.map(\.0), started: started, leases: taken)
    }

    /// How long `up` waits for each DHCP lease, unless told otherwise.
    public static let dhcpTimeout = 10.0

    /// True while the lease's address is on its link.
    static func isApplied(_ record: LabState.Lease) -> Bool {
        let addresses = try? NetlinkHandle(namespace: record.interface.namespace).addresses(
            of: record.interface.name)
        return addresses?.contains { $0.prefix == record.applied.address } ?? false
    }

    /// Undoes `applied` in reverse; returns what it undid (in the file's words, when given a
    /// renaming) and the undo steps that failed. With `toleratingGone`, an object already gone
    /// (deleted by hand) is no failure.
    private static func rollback(
        _ applied: [(LabStep, Forwarding?)], context: LabContext, renaming: LabRenaming = .none,
        toleratingGone: Bool = false
    ) -> (undone: [String], failures: [String]) {
        var createdNamespaces: Set<String> = []
        var createdLinks: Set<LabInterface> = []
        for (step, _) in applied {
            let made = step.creates
            if let namespace = made.namespace { createdNamespaces.insert(namespace) }
            createdLinks.formUnion(made.links)
        }
        var undone: [String] = []
        var failures: [String] = []
        for (step, previous) in applied.reversed() {
            do {
                if case .addNamespace(let name) = step.action, toleratingGone,
                    !NetworkNamespace.exists(name)
                {
                    continue
                }
                let acted = try step.undo(
                    in: context, previous: previous, createdNamespaces: createdNamespaces,
                    createdLinks: createdLinks)
                if acted { undone.append(step.summary(renaming)) }
            } catch
                where toleratingGone
                && [ENODEV, ENOENT, EADDRNOTAVAIL, ESRCH].contains(error.errno)
            {
                // Already gone (deleted by hand, or with something deleted before).
            } catch {
                failures.append("undo \(step.summary(renaming)): \(error.reason)")
            }
        }
        return (undone, failures)
    }

    /// Takes the lab down: undoes exactly what its `up`s made, as recorded in its state file,
    /// newest first (deleting a namespace it made takes everything inside along), then removes
    /// the state file. Namespaces and links it adopted, and everything of other labs or of the
    /// user, stay. Returns what it undid, in the file's words (empty: the lab was not up).
    /// Carries on past failures and reports them all at the end (the state file then stays).
    public static func down(_ spec: LabSpec, progress: (String) -> Void = { _ in }) throws(LabError)
        -> [String]
    {
        guard let state = try LabState.load(spec.instanceName) else { return [] }
        // Leases first, while their DHCP server runs; a lease that cannot be given back (its
        // namespace deleted by hand) is no reason to keep the rest of the lab.
        var released: [String] = []
        for record in state.leases.reversed() {
            let name = "addr \(spec.renaming.fileName(of: record.interface)) dhcp"
            guard record.interface.namespace.map(NetworkNamespace.exists) ?? true else { continue }
            do throws(DHCPClientError) {
                try DHCPClient.release(
                    record.lease, applied: record.applied, interface: record.interface.name,
                    namespace: record.interface.namespace)
                released.append("\(name) (released \(record.lease.address))")
            } catch {
                released.append("\(name) (not released: \(error))")
            }
            progress(released.last!)
        }
        // Servers next, while their namespaces still exist.
        var stopped: [String] = []
        var failures: [String] = []
        for record in state.servers.reversed() {
            let name =
                spec.servers.first { $0.line == record.line }?.summary(spec.renaming)
                ?? "server of line \(record.line)"
            do {
                if try LabServerProcess.stop(record) {
                    stopped.append("\(name) (pid \(record.pid) stopped)")
                }
            } catch {
                failures.append("stop \(name) (pid \(record.pid)): \(error)")
            }
        }
        for action in stopped { progress(action) }
        let context = LabContext()
        let changes = state.made.map { (LabStep(action: $0.action, line: 0), $0.previous) }
        let (undone, undoFailures) = rollback(
            changes, context: context, renaming: spec.renaming, toleratingGone: true)
        failures += undoFailures
        for action in undone { progress(action) }
        if !failures.isEmpty {
            throw LabError(
                location: spec.file,
                message: "lab \(spec.name): down failed:\n" + failures.joined(separator: "\n"))
        }
        try LabState.remove(spec.instanceName)
        return released + stopped + undone
    }

    /// Every object of the lab compared with what exists, in `up`'s order, plus drift:
    /// things in the lab's namespaces (or on its host links) that it does not declare.
    public static func status(_ spec: LabSpec) throws(LabError) -> LabStatus {
        let context = LabContext()
        do {
            let observation = try LabObservation(spec, context: context)
            let state = try LabState.load(spec.instanceName)
            let records = state?.servers ?? []
            let leases = state?.leases ?? []
            return LabStatus(
                items: compare(spec, with: observation),
                drift: drift(spec, in: observation, leases: leases),
                leases: spec.dhcpAddresses.map { dhcp in
                    let record = leases.first { $0.line == dhcp.line }
                    return LabLeaseStatus(
                        address: dhcp, record: record, isApplied: record.map(isApplied) ?? false)
                },
                servers: spec.servers.map { server in
                    let record = records.first { $0.line == server.line }
                    return LabServerStatus(
                        server: server, record: record,
                        isRunning: record.map(LabServerProcess.isRunning) ?? false,
                        controlSocket: LabServerProcess.controlSocket(of: server, in: spec))
                })
        } catch {
            throw LabError(location: spec.file, message: "\(error)")
        }
    }

    /// The control socket `up` gives an smtpd of the lab (`smtpd -s`); nil for `run`.
    public static func controlSocket(of server: LabServer, in spec: LabSpec) -> String? {
        LabServerProcess.controlSocket(of: server, in: spec)
    }

    static func items(_ spec: LabSpec, context: LabContext) throws(LabError) -> [LabItem] {
        do {
            return compare(spec, with: try LabObservation(spec, context: context))
        } catch {
            throw LabError(location: spec.file, message: "\(error)")
        }
    }
}

/// Desired against actual.
public struct LabStatus: Sendable {
    public var items: [LabItem]
    /// Undeclared objects found, one line each.
    public var drift: [String]
    /// The lab's DHCP addresses, in file order.
    public var leases: [LabLeaseStatus] = []
    /// The lab's servers, in file order.
    public var servers: [LabServerStatus] = []

    /// True when everything is present, every lease applied, every server runs and nothing
    /// else is there.
    public var isUp: Bool {
        items.allSatisfy { $0.state == .present } && drift.isEmpty
            && servers.allSatisfy(\.isRunning) && leases.allSatisfy(\.isApplied)
    }
    /// True when nothing of the lab exists or runs.
    public var isDown: Bool {
        items.allSatisfy { $0.state != .present } && !servers.contains(where: \.isRunning)
    }
}

/// An `addr IF@NS dhcp` against the lease `up` recorded.
public struct LabLeaseStatus: Sendable {
    public var address: LabDHCPAddress
    public var record: LabState.Lease?
    /// The leased address is on the link.
    public var isApplied: Bool

    /// `leased   addr yg@gruen dhcp: 10.5.0.123/24 from 10.5.0.1 (…)`.
    public func line(_ renaming: LabRenaming) -> String {
        let summary = "addr \(renaming.fileName(of: address.interface)) dhcp"
        guard let record else { return "no lease \(summary)" }
        return (isApplied ? "leased   " : "LOST     ") + "\(summary): \(record.lease)"
    }
}

/// A lab server against its state-file record.
public struct LabServerStatus: Sendable {
    public var server: LabServer
    /// What the last `up` recorded (nil: never started, or the lab is down).
    public var record: LabServerRecord?
    public var isRunning: Bool
    /// An smtpd's control socket (`smtpctl -s PATH`); nil for `run`.
    public var controlSocket: String? = nil

    /// `running  smtpd gruen conf/smtpd.conf (pid 42, log /run/mlab/labs/seed/…)`.
    public func line(_ renaming: LabRenaming) -> String {
        let summary = server.summary(renaming)
        guard let record else { return "stopped  \(summary) (not started)" }
        return (isRunning ? "running  " : "DEAD     ")
            + "\(summary) (pid \(record.pid), log \(record.log))"
    }
}
