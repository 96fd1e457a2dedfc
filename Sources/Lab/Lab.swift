import Glibc
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
    /// The steps applied, in order (empty: the lab was already up).
    public var applied: [LabStep]
    public var isUnchanged: Bool { applied.isEmpty }
}

/// Bringing labs up and down, and comparing them with reality.
public enum Lab {
    /// Brings the lab up: creates what is missing, in order, and nothing else, so a second
    /// `up` changes nothing. If a step fails, every step this call applied is undone, in
    /// reverse, before the error is thrown. Conflicts (an object of the wrong kind in the
    /// way) are reported before anything changes.
    public static func up(
        _ spec: LabSpec, faultInjection: LabFaultInjection? = nil,
        progress: (LabStep) -> Void = { _ in }
    ) throws(LabError) -> LabUpReport {
        let context = LabContext()
        let items = try items(spec, context: context)
        let conflicts = items.compactMap { item -> String? in
            if case .conflict(let why) = item.state {
                return "\(spec.location(item.step.line)): \(item.step): \(why)"
            }
            return nil
        }
        if !conflicts.isEmpty {
            throw LabError(
                location: spec.file,
                message: "lab \(spec.name) conflicts with what exists (run down first?):\n"
                    + conflicts.joined(separator: "\n"))
        }
        var applied: [(LabStep, Forwarding?)] = []
        for item in items where item.state == .missing {
            do {
                let previous = try item.step.apply(in: context)
                applied.append((item.step, previous))
                progress(item.step)
                try faultInjection?(applied.count - 1, item.step)
            } catch {
                let reason = (error as? NetlinkError)?.reason ?? "\(error)"
                var failure = LabError(
                    location: spec.location(item.step.line),
                    message: "\(item.step.summary(spec.renaming)): \(reason)")
                failure.file = spec.file
                failure.rollbackFailures = rollback(applied, context: context)
                failure.rolledBack = applied.reversed().map { $0.0.summary(spec.renaming) }
                throw failure
            }
        }
        return LabUpReport(applied: applied.map(\.0))
    }

    /// Undoes `applied` in reverse; returns the undo steps that failed.
    private static func rollback(_ applied: [(LabStep, Forwarding?)], context: LabContext)
        -> [String]
    {
        var createdNamespaces: Set<String> = []
        var createdLinks: Set<LabInterface> = []
        for (step, _) in applied {
            let made = step.creates
            if let namespace = made.namespace { createdNamespaces.insert(namespace) }
            createdLinks.formUnion(made.links)
        }
        var failures: [String] = []
        for (step, previous) in applied.reversed() {
            do {
                try step.undo(
                    in: context, previous: previous, createdNamespaces: createdNamespaces,
                    createdLinks: createdLinks)
            } catch {
                failures.append("undo \(step): \(error)")
            }
        }
        return failures
    }

    /// Takes the lab down: deletes its host-side links (veth ends and bridges of the kind the
    /// lab declares, nothing else) and its namespaces, which takes everything inside them.
    /// Returns what it did, as iproute2 commands (empty: nothing of the lab existed).
    /// Carries on past failures and reports them all at the end.
    public static func down(_ spec: LabSpec, progress: (String) -> Void = { _ in }) throws(LabError)
        -> [String]
    {
        var done: [String] = []
        var failures: [String] = []
        let ownsHostLinks =
            spec.veths.contains { $0.first.namespace == nil || $0.second.namespace == nil }
            || spec.bridges.contains { $0.bridge.namespace == nil }
        if ownsHostLinks {
            do {
                let host = try NetlinkHandle()
                for veth in spec.veths {
                    // One end is enough: deleting it removes its peer too.
                    guard let end = [veth.first, veth.second].first(where: { $0.namespace == nil })
                    else { continue }
                    if let link = try host.linkIfPresent(named: end.name), link.kind == "veth" {
                        step("ip link del \(end.name)", &done, &failures, progress) {
                            () throws(NetlinkError) in
                            try host.deleteLink(end.name)
                        }
                    }
                }
                for bridge in spec.bridges where bridge.bridge.namespace == nil {
                    if let link = try host.linkIfPresent(named: bridge.bridge.name),
                        link.kind == "bridge"
                    {
                        step("ip link del \(bridge.bridge.name)", &done, &failures, progress) {
                            () throws(NetlinkError) in
                            try host.deleteLink(bridge.bridge.name)
                        }
                    }
                }
            } catch {
                failures.append("\(error)")
            }
        }
        for namespace in spec.namespaces where NetworkNamespace.exists(namespace.name) {
            step("ip netns del \(namespace.name)", &done, &failures, progress) {
                () throws(NetlinkError) in
                try NetlinkError.from { () throws(NamespaceError) in
                    try NetworkNamespace.delete(namespace.name)
                }
            }
        }
        if !failures.isEmpty {
            throw LabError(
                location: spec.file,
                message: "lab \(spec.name): down failed:\n" + failures.joined(separator: "\n"))
        }
        return done
    }

    private static func step(
        _ description: String, _ done: inout [String], _ failures: inout [String],
        _ progress: (String) -> Void,
        _ body: () throws(NetlinkError) -> Void
    ) {
        do {
            try body()
            done.append(description)
            progress(description)
        } catch {
            failures.append("\(error)")
        }
    }

    /// Every object of the lab compared with what exists, in `up`'s order, plus drift:
    /// things in the lab's namespaces (or on its host links) that it does not declare.
    public static func status(_ spec: LabSpec) throws(LabError) -> LabStatus {
        let context = LabContext()
        do {
            let observation = try LabObservation(spec, context: context)
            return LabStatus(
                items: compare(spec, with: observation), drift: drift(spec, in: observation))
        } catch {
            throw LabError(location: spec.file, message: "\(error)")
        }
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

    /// True when everything is present and nothing else is there.
    public var isUp: Bool { items.allSatisfy { $0.state == .present } && drift.isEmpty }
    /// True when nothing of the lab exists.
    public var isDown: Bool { items.allSatisfy { $0.state != .present } }
}
