import Netlink

/// Who owns what: `up` refuses to share a namespace or a host network with another lab, and
/// to take over a namespace or link that exists but that this lab did not make.
enum LabOwnership {
    /// Another lab (from its state file) that uses one of this lab's namespaces, has an
    /// address in the real host on a network overlapping one of this lab's host addresses, or
    /// turns on forwarding in the same host.
    static func refuseOverlaps(_ spec: LabSpec, claims: LabState, others: [LabState])
        throws(LabError)
    {
        var problems: [String] = []
        for other in others {
            for use in claims.uses {
                if let theirs = other.uses.first(where: { $0.namespace == use.namespace }) {
                    problems.append(
                        "\(spec.location(use.line)): netns \(spec.renaming.fileName(ofNamespace: use.namespace)) is also lab \(other.lab)'s (\(place(other, theirs.line))): the labs overlap"
                    )
                }
            }
            // Forwarding is one switch for the whole host: the first lab's down would turn it
            // off under the other.
            if let mine = claims.hostForwarding, let theirs = other.hostForwarding,
                mine.host == theirs.host
            {
                problems.append(
                    "\(spec.location(mine.line)): forward host is also lab \(other.lab)'s (\(place(other, theirs.line))): the labs overlap"
                )
            }
            for mine in claims.hostAddresses {
                if let theirs = other.hostAddresses.first(where: {
                    $0.host == mine.host && $0.prefix.overlaps(mine.prefix)
                }) {
                    problems.append(
                        "\(spec.location(mine.line)): \(mine.prefix) on the host overlaps lab \(other.lab)'s \(theirs.prefix) on \(theirs.interface) (\(place(other, theirs.line))): the labs overlap"
                    )
                }
            }
        }
        if !problems.isEmpty {
            throw LabError(
                location: spec.file,
                message: "lab \(spec.name) refused, another lab holds what it needs"
                    + " (take that lab down first, or rename this one with --prefix):\n"
                    + problems.joined(separator: "\n"))
        }
    }

    /// Namespaces and links (outside namespaces this lab made) that exist but are not in the
    /// lab's record of what it made: made by hand, by a tool, or by a lab whose state is gone.
    static func refuseAdoption(_ spec: LabSpec, items: [LabItem], made: [LabState.Change])
        throws(LabError)
    {
        var ours: Set<String> = []
        for change in made {
            if case .addNamespace(let name) = change.action { ours.insert(name) }
        }
        func isOurs(_ action: LabStep.Action) -> Bool { made.contains { $0.action == action } }
        var problems: [String] = []
        for item in items where item.state == .present {
            switch item.step.action {
            case .addNamespace(let name)
            where !ours.contains(name) && name != spec.renaming.hostNamespace:
                // The `--host` stand-in is the lab's host: used as it is, like the real one.
                problems.append(
                    "\(spec.location(item.step.line)): netns \(spec.renaming.fileName(ofNamespace: name)) exists and lab \(spec.name) did not create it"
                )
            case .addVeth(let creator, let peer)
            where !isOurs(item.step.action)
                && !(creator.namespace.map(ours.contains) ?? false
                    && peer.namespace.map(ours.contains) ?? false):
                problems.append(
                    "\(spec.location(item.step.line)): veth \(spec.renaming.fileName(of: creator)) \(spec.renaming.fileName(of: peer)) exists and lab \(spec.name) did not create it"
                )
            case .addBridge(let bridge)
            where !isOurs(item.step.action) && !(bridge.namespace.map(ours.contains) ?? false):
                problems.append(
                    "\(spec.location(item.step.line)): bridge \(spec.renaming.fileName(of: bridge)) exists and lab \(spec.name) did not create it"
                )
            default: break
            }
        }
        if !problems.isEmpty {
            throw LabError(
                location: spec.file,
                message: "lab \(spec.name) refused to adopt what it did not create"
                    + " (--adopt uses it anyway; down then leaves it):\n"
                    + problems.joined(separator: "\n"))
        }
    }

    private static func place(_ state: LabState, _ line: Int) -> String {
        line == 0 ? "\(state.file) (--host)" : "\(state.file):\(line)"
    }
}
