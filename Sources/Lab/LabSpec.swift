public import Netlink

/// One end of a link in a lab: an interface name in a namespace (nil: the host, i.e. the
/// process's own namespace).
public struct LabInterface: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var namespace: String?

    public init(name: String, namespace: String?) {
        self.name = name
        self.namespace = namespace
    }

    public var description: String { "\(name)@\(namespace ?? "host")" }
}

/// A namespace the lab owns: `up` creates it, `down` deletes it.
public struct LabNamespace: Hashable, Sendable {
    public var name: String
    /// IPv4 and IPv6 forwarding on (`forward` in the file).
    public var forwards: Bool
    public var line: Int
}

/// A veth pair.
public struct LabVeth: Hashable, Sendable {
    public var first: LabInterface
    public var second: LabInterface
    public var line: Int
}

/// A bridge and the interfaces (of its namespace) plugged into it.
public struct LabBridge: Hashable, Sendable {
    public var bridge: LabInterface
    public var ports: [String]
    public var line: Int
}

/// An address on an interface.
public struct LabAddress: Hashable, Sendable {
    public var interface: LabInterface
    public var prefix: IPPrefix
    public var line: Int
}

/// A route in a namespace: to `destination` (nil: default) via `gateway` and/or out of `device`.
public struct LabRoute: Hashable, Sendable {
    public var namespace: String?
    public var destination: IPPrefix?
    public var gateway: IPAddress?
    public var device: String?
    public var line: Int
}

/// What the file says must (or must not) reach what: an `expect` line. `check` probes each
/// and reports it against this intent instead of the intent it derives from the file.
public struct LabExpectation: Hashable, Sendable {
    public enum Target: Hashable, Sendable {
        /// Every address of the namespace (nil: the host).
        case namespace(String?)
        case address(IPAddress)
    }

    /// The namespace the probe starts in (nil: the host).
    public var source: String?
    public var target: Target
    /// The TCP port to connect to; nil: an ICMP echo (ping), the default.
    public var port: UInt16?
    /// `->` (true) or `-/->` (false).
    public var reaches: Bool
    public var line: Int

    public init(source: String?, target: Target, port: UInt16?, reaches: Bool, line: Int) {
        self.source = source
        self.target = target
        self.port = port
        self.reaches = reaches
        self.line = line
    }
}

/// `addr IF@NS dhcp`: the interface takes its address (and default route) from a DHCP
/// server on its network, as `dhclient IF` in the course.
public struct LabDHCPAddress: Hashable, Sendable {
    public var interface: LabInterface
    public var line: Int
}

/// `uplink BRIDGE@NS nic NAME`: a real network card of the bridge's namespace plugged into
/// the bridge (the course's `ip link set enp5s0 master bridge`). Puts the lab on the real
/// network: `up` refuses it unless the NIC is named with `--allow-nic`.
public struct LabNICUplink: Hashable, Sendable {
    public var bridge: LabInterface
    public var nic: String
    public var line: Int
}

/// A parsed, validated lab file: what should exist when the lab is up.
public struct LabSpec: Sendable {
    /// The lab's name (`lab NAME`, else the file name without `lab-` and `.conf`).
    public var name: String
    /// The file it came from, for `FILE:LINE:` messages.
    public var file: String
    public var namespaces: [LabNamespace] = []
    public var veths: [LabVeth] = []
    public var bridges: [LabBridge] = []
    public var addresses: [LabAddress] = []
    public var routes: [LabRoute] = []
    /// `expect` lines, in file order (none: `check` derives what should reach what).
    public var expectations: [LabExpectation] = []
    /// The line of `forward host` when the lab turns on forwarding in the real host (with
    /// `--host`, the stand-in namespace's `forwards` says it instead).
    public var hostForwardLine: Int?
    /// Processes run inside the lab once its network is up, in file order.
    public var servers: [LabServer] = []
    /// The resolv.conf files of namespaces (`resolv` statements).
    public var resolvers: [LabResolver] = []
    /// Interfaces that get their address by DHCP once the lab's DHCP servers run.
    public var dhcpAddresses: [LabDHCPAddress] = []
    /// Real NICs plugged into a bridge (never in the shipped labs or tests).
    public var nicUplinks: [LabNICUplink] = []
    /// How the file's names were changed; messages give the file's names back.
    public var renaming: LabRenaming = .none
    /// Each statement as the file writes it (comments and extra blanks dropped), by line.
    public var statements: [Int: String] = [:]

    /// The namespaces the lab touches: nil (host) if anything lives there, then the owned ones.
    public var allNamespaces: [String?] {
        var result: [String?] = []
        if interfaces.contains(where: { $0.namespace == nil })
            || routes.contains(where: { $0.namespace == nil })
            || (hostForwardLine != nil && renaming.hostNamespace == nil)
        {
            result.append(nil)
        }
        result += namespaces.map(\.name)
        return result
    }

    /// Whether the file turns forwarding on in `namespace` (nil: the host).
    public func forwards(_ namespace: String?) -> Bool {
        guard let namespace else { return hostForwardLine != nil && renaming.hostNamespace == nil }
        return namespaces.contains { $0.name == namespace && $0.forwards }
    }

    /// Every interface the lab creates (veth ends and bridges), in file order.
    public var interfaces: [LabInterface] {
        veths.flatMap { [$0.first, $0.second] } + bridges.map(\.bridge)
    }

    /// `FILE:LINE` (`FILE (--host)` for the stand-in host namespace, which has no line).
    public func location(_ line: Int) -> String {
        line == 0 ? "\(file) (--host)" : "\(file):\(line)"
    }

    /// This copy of the lab on the machine: its name after the namespace prefix, so that
    /// prefixed copies of one lab have a state file each.
    public var instanceName: String {
        (renaming.namespacePrefix + name).map { $0 == "/" ? "_" : $0 }.reduce(into: "") {
            $0.append($1)
        }
    }
}

extension LabSpec {
    /// The spec with what `up`'s leases put on the links as if the file declared it: each
    /// address on the line of its `addr … dhcp`, and its default route via the router.
    func adding(_ leases: [LabState.Lease]) -> LabSpec {
        var spec = self
        for lease in leases {
            spec.addresses.append(
                LabAddress(
                    interface: lease.interface, prefix: lease.applied.address, line: lease.line))
            if let router = lease.applied.router {
                spec.routes.append(
                    LabRoute(
                        namespace: lease.interface.namespace, destination: nil, gateway: router,
                        device: lease.interface.name, line: lease.line))
            }
        }
        return spec
    }
}
