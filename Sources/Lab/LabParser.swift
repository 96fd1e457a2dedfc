import Netlink

/// One problem in a lab file, as `FILE:LINE: message`.
public struct LabDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// All the problems found in a lab file (parsing continues after the first).
public struct LabFileError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [LabDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// How a lab's names are changed before use, so that tests (or several users) can run the
/// same lab file side by side: every namespace becomes `namespacePrefix + name`, every
/// interface `interfacePrefix + name` (the result must still fit in 15 bytes), and `host`
/// can be replaced by a namespace the lab then owns like the others.
public struct LabRenaming: Sendable {
    public var namespacePrefix: String
    public var interfacePrefix: String
    /// If set, the lab's `host` is this (owned, created) namespace instead of the process's own.
    public var hostNamespace: String?

    public init(
        namespacePrefix: String = "", interfacePrefix: String = "", hostNamespace: String? = nil
    ) {
        self.namespacePrefix = namespacePrefix
        self.interfacePrefix = interfacePrefix
        self.hostNamespace = hostNamespace
    }

    public static let none = LabRenaming()

    /// The lab file's name of a (renamed) namespace: "host" for the host or its stand-in.
    public func fileName(ofNamespace namespace: String?) -> String {
        guard let namespace, namespace != hostNamespace else { return "host" }
        return namespace.hasPrefix(namespacePrefix)
            ? String(namespace.dropFirst(namespacePrefix.count)) : namespace
    }

    /// The lab file's name of a (renamed) interface name.
    public func fileName(ofInterface name: String) -> String {
        name.hasPrefix(interfacePrefix) ? String(name.dropFirst(interfacePrefix.count)) : name
    }

    /// `IF@NS` as the lab file writes it.
    public func fileName(of interface: LabInterface) -> String {
        "\(fileName(ofInterface: interface.name))@\(fileName(ofNamespace: interface.namespace))"
    }
}

/// Reads the lab file format documented in docs/LABS.md.
public enum LabParser {
    /// Parses and validates `text`; throws `LabFileError` with every problem found.
    public static func parse(_ text: String, file: String, renaming: LabRenaming = .none)
        throws(LabFileError) -> LabSpec
    {
        var parser = Parser(file: file, renaming: renaming)
        var statements: [(words: [String], line: Int)] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let content =
                rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first
                ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                .map(String.init)
            if !words.isEmpty { statements.append((words, offset + 1)) }
        }
        // Statements may come in any order: namespaces first, so that a use before the
        // `netns` line finds it.
        for statement in statements where statement.words[0] == "netns" {
            parser.statement(statement.words, line: statement.line)
        }
        for statement in statements where statement.words[0] != "netns" {
            parser.statement(statement.words, line: statement.line)
        }
        for statement in statements {
            parser.spec.statements[statement.line] = statement.words.joined(separator: " ")
        }
        parser.validate()
        if !parser.diagnostics.isEmpty {
            throw LabFileError(
                diagnostics: parser.diagnostics.enumerated().sorted {
                    ($0.element.line, $0.offset) < ($1.element.line, $1.offset)
                }.map(\.element))
        }
        return parser.spec
    }
}

private struct Parser {
    var spec: LabSpec
    var renaming: LabRenaming
    var diagnostics: [LabDiagnostic] = []
    /// Interfaces declared so far, with the line that declared them.
    var declared: [LabInterface: Int] = [:]
    /// Bridges by interface, to check ports.
    var bridgeNames: Set<LabInterface> = []
    /// `uplink` veth ports, added to their bridge once every bridge is read.
    var uplinkPorts: [(bridge: LabInterface, port: String, line: Int)] = []

    init(file: String, renaming: LabRenaming) {
        var name = String(file.split(separator: "/").last ?? Substring(file))
        if name.hasSuffix(".conf") { name.removeLast(5) }
        if name.hasPrefix("lab-") { name.removeFirst(4) }
        spec = LabSpec(name: name, file: file)
        spec.renaming = renaming
        self.renaming = renaming
        if let host = renaming.hostNamespace {
            spec.namespaces.append(LabNamespace(name: host, forwards: false, line: 0))
        }
    }

    /// `IF@NS` as the file writes it.
    func shown(_ interface: LabInterface) -> String { renaming.fileName(of: interface) }

    /// " (did you mean …?)" among the interfaces declared in the same namespace.
    func interfaceHint(_ interface: LabInterface) -> String {
        let names = declared.keys.filter { $0.namespace == interface.namespace }.map(shown)
        return NearMiss.hint(for: shown(interface), among: names)
    }

    mutating func error(_ line: Int, _ message: String) {
        diagnostics.append(LabDiagnostic(file: spec.file, line: line, message: message))
    }

    mutating func statement(_ words: [String], line: Int) {
        switch words[0] {
        case "lab":
            guard words.count == 2 else { return error(line, "usage: lab NAME") }
            spec.name = words[1]
        case "netns": netns(words, line: line)
        case "veth": veth(words, line: line)
        case "bridge": bridge(words, line: line)
        case "addr": address(words, line: line)
        case "route": route(words, line: line)
        case "smtpd": smtpd(words, line: line)
        case "run": run(words, line: line)
        case "forward": forward(words, line: line)
        case "expect": expect(words, line: line)
        case "resolv": resolv(words, line: line)
        case "upstream": upstream(words, line: line)
        case "uplink": uplink(words, line: line)
        default:
            let known = [
                "lab", "netns", "veth", "bridge", "addr", "route", "smtpd", "run", "resolv",
                "upstream", "uplink", "forward", "expect",
            ]
            let hint = NearMiss.hint(for: words[0], among: known)
            error(
                line,
                hint.isEmpty
                    ? "unknown statement \"\(words[0])\" (expected lab, netns, veth, bridge, uplink, addr, route, forward, upstream, resolv, expect, smtpd or run)"
                    : "unknown statement \"\(words[0])\"\(hint)"
            )
        }
    }

    /// The namespace called `name` in the file, renamed; nil for the real host.
    mutating func namespace(_ name: String, line: Int) -> String?? {
        if name == "host" { return .some(renaming.hostNamespace) }
        let renamed = renaming.namespacePrefix + name
        guard spec.namespaces.contains(where: { $0.name == renamed }) else {
            let declared = spec.namespaces.filter { $0.line > 0 }.map {
                renaming.fileName(ofNamespace: $0.name)
            }
            var hint = NearMiss.hint(for: name, among: declared + ["host"])
            if hint.isEmpty {
                hint =
                    declared.isEmpty
                    ? " (no namespace is declared: add a netns line)"
                    : " (declared: \(declared.joined(separator: ", ")) and host)"
            }
            error(line, "unknown namespace \"\(name)\"\(hint)")
            return nil
        }
        return .some(renamed)
    }

    /// Parses `IF@NS`.
    mutating func interface(_ word: String, line: Int) -> LabInterface? {
        let parts = word.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            error(line, "expected INTERFACE@NAMESPACE, got \"\(word)\"")
            return nil
        }
        guard let namespace = namespace(String(parts[1]), line: line) else { return nil }
        return LabInterface(name: renaming.interfacePrefix + parts[0], namespace: namespace)
    }

    mutating func declare(_ interface: LabInterface, line: Int) -> Bool {
        if interface.name.utf8.count > maximumInterfaceNameLength {
            error(
                line,
                "interface name \"\(interface.name)\" is \(interface.name.utf8.count) bytes, the kernel allows 15"
            )
            return false
        }
        if interface.name == "lo" || interface.name.contains("/") {
            error(line, "interface name \"\(interface.name)\" is not allowed")
            return false
        }
        if let earlier = declared[interface] {
            error(
                line,
                "duplicate interface \(renaming.fileName(of: interface)) (first declared on line \(earlier))"
            )
            return false
        }
        declared[interface] = line
        return true
    }

    mutating func netns(_ words: [String], line: Int) {
        guard words.count == 2 || (words.count == 3 && words[2] == "forward") else {
            return error(line, "usage: netns NAME [forward]")
        }
        let name = words[1]
        if name == "host" {
            return error(line, "\"host\" is the initial namespace: it cannot be declared")
        }
        if name.contains("/") || name.hasPrefix(".") {
            return error(line, "invalid namespace name \"\(name)\"")
        }
        let renamed = renaming.namespacePrefix + name
        if let earlier = spec.namespaces.first(where: { $0.name == renamed }) {
            return error(
                line, "duplicate namespace \(name) (first declared on line \(earlier.line))")
        }
        spec.namespaces.append(LabNamespace(name: renamed, forwards: words.count == 3, line: line))
    }

    mutating func veth(_ words: [String], line: Int) {
        guard words.count == 3 else { return error(line, "usage: veth IF@NS IF@NS") }
        guard let first = interface(words[1], line: line),
            let second = interface(words[2], line: line)
        else { return }
        let ok = declare(first, line: line) && declare(second, line: line)
        if ok { spec.veths.append(LabVeth(first: first, second: second, line: line)) }
    }

    mutating func bridge(_ words: [String], line: Int) {
        guard words.count == 2 || (words.count >= 4 && words[2] == "ports") else {
            return error(line, "usage: bridge IF@NS [ports IF IF …]")
        }
        guard let bridge = interface(words[1], line: line), declare(bridge, line: line) else {
            return
        }
        bridgeNames.insert(bridge)
        let ports = words.dropFirst(3).map { renaming.interfacePrefix + $0 }
        spec.bridges.append(LabBridge(bridge: bridge, ports: ports, line: line))
    }

    mutating func address(_ words: [String], line: Int) {
        guard words.count == 3 else {
            return error(line, "usage: addr IF@NS ADDRESS/LENGTH|dhcp")
        }
        guard let interface = interface(words[1], line: line) else { return }
        if words[2] == "dhcp" {
            if let earlier = spec.dhcpAddresses.first(where: { $0.interface == interface }) {
                return error(
                    line,
                    "\(shown(interface)) already takes its address by DHCP (line \(earlier.line))")
            }
            spec.dhcpAddresses.append(LabDHCPAddress(interface: interface, line: line))
            return
        }
        guard words[2].contains("/"), let prefix = IPPrefix(words[2]) else {
            return error(
                line,
                "malformed address \"\(words[2])\" (expected ADDRESS/LENGTH, e.g. 10.0.0.2/24)")
        }
        if prefix.address == prefix.network.address && prefix.length < prefix.address.bitWidth - 1 {
            return error(line, "\(prefix) is the network address itself, not a host address")
        }
        spec.addresses.append(LabAddress(interface: interface, prefix: prefix, line: line))
    }

    mutating func route(_ words: [String], line: Int) {
        let usage = "usage: route NS DESTINATION|default [via GATEWAY] [dev IF]"
        guard words.count >= 5, words.count % 2 == 1 else { return error(line, usage) }
        guard let namespace = namespace(words[1], line: line) else { return }
        var route = LabRoute(
            namespace: namespace, destination: nil, gateway: nil, device: nil, line: line)
        if words[2] != "default" {
            guard words[2].contains("/"), let destination = IPPrefix(words[2]) else {
                return error(
                    line,
                    "malformed destination \"\(words[2])\" (expected NETWORK/LENGTH or default)")
            }
            route.destination = destination.network
        }
        var index = 3
        while index + 1 < words.count {
            switch words[index] {
            case "via":
                guard let gateway = IPAddress(words[index + 1]) else {
                    return error(line, "malformed gateway address \"\(words[index + 1])\"")
                }
                route.gateway = gateway
            case "dev": route.device = renaming.interfacePrefix + words[index + 1]
            default: return error(line, usage)
            }
            index += 2
        }
        if route.gateway == nil && route.device == nil { return error(line, usage) }
        if route.destination == nil && route.gateway == nil {
            return error(line, "a default route needs a gateway (via)")
        }
        if let destination = route.destination, let gateway = route.gateway,
            destination.address.family != gateway.family
        {
            return error(
                line, "destination \(destination) and gateway \(gateway) are of different families")
        }
        spec.routes.append(route)
    }

    /// `smtpd NS CONFIG`: a relative CONFIG is relative to the lab file, like an include.
    mutating func smtpd(_ words: [String], line: Int) {
        guard words.count == 3 else { return error(line, "usage: smtpd NS CONFIG") }
        guard let namespace = namespace(words[1], line: line) else { return }
        var config = words[2]
        if !config.hasPrefix("/"), let slash = spec.file.lastIndex(of: "/") {
            config = String(spec.file[...slash]) + config
        }
        spec.servers.append(
            LabServer(namespace: namespace, kind: .smtpd(config: config), line: line))
    }

    /// `run NS -- CMD ARGS…`: the command as written (looked up in PATH, run in mlab's
    /// working directory).
    mutating func run(_ words: [String], line: Int) {
        guard words.count >= 4, words[2] == "--" else {
            return error(line, "usage: run NS -- COMMAND [ARGUMENT …]")
        }
        guard let namespace = namespace(words[1], line: line) else { return }
        spec.servers.append(
            LabServer(namespace: namespace, kind: .run(Array(words[3...])), line: line))
    }

    /// `forward NS`: forwarding on in a namespace, the host included (`netns NS forward` says
    /// the same for a declared one; the host cannot be declared).
    mutating func forward(_ words: [String], line: Int) {
        guard words.count == 2 else { return error(line, "usage: forward NS (e.g. forward host)") }
        guard let namespace = namespace(words[1], line: line) else { return }
        if words[1] == "host" {
            if let earlier = spec.hostForwardLine {
                return error(line, "duplicate forward host (first on line \(earlier))")
            }
            spec.hostForwardLine = line
        }
        if let namespace, let index = spec.namespaces.firstIndex(where: { $0.name == namespace }) {
            spec.namespaces[index].forwards = true
        }
    }

    /// `expect NS -> TARGET` or `expect NS -/-> TARGET`; TARGET is a namespace or an address
    /// of the lab, with `:PORT` for a TCP connect (without: an ICMP echo).
    mutating func expect(_ words: [String], line: Int) {
        let usage =
            "usage: expect NS -> TARGET or expect NS -/-> TARGET (TARGET: NS, ADDRESS, NS:PORT, ADDRESS:PORT or [IPV6]:PORT)"
        guard words.count == 4 else { return error(line, usage) }
        let reaches: Bool
        switch words[2] {
        case "->": reaches = true
        case "-/->": reaches = false
        default:
            return error(
                line,
                "expected -> (must reach) or -/-> (must not reach), got \"\(words[2])\""
                    + NearMiss.hint(for: words[2], among: ["->", "-/->"]))
        }
        if IPAddress(words[1]) != nil {
            return error(line, "the source of expect is a namespace, not an address: \(usage)")
        }
        guard let source = namespace(words[1], line: line) else { return }
        var target = words[3]
        var port: UInt16?
        // The port follows the last colon, except in a bare IPv6 address.
        if target.hasPrefix("["), let close = target.firstIndex(of: "]") {
            let rest = target[target.index(after: close)...]
            guard rest.hasPrefix(":"), let number = UInt16(rest.dropFirst()), number > 0 else {
                return error(line, "malformed target \"\(target)\" (expected [IPV6]:PORT)")
            }
            port = number
            target = String(target[target.index(after: target.startIndex)..<close])
        } else if IPAddress(target) == nil, let colon = target.lastIndex(of: ":") {
            guard let number = UInt16(target[target.index(after: colon)...]), number > 0 else {
                return error(
                    line,
                    "malformed port in \"\(target)\" (expected a TCP port from 1 to 65535)")
            }
            port = number
            target = String(target[..<colon])
        }
        let expectation: LabExpectation.Target
        if let address = IPAddress(target) {
            expectation = .address(address)
        } else {
            guard let namespace = namespace(target, line: line) else { return }
            if namespace == source {
                return error(
                    line,
                    "expect \(words[1]) \(words[2]) \(words[1]): a namespace is not probed from itself"
                )
            }
            expectation = .namespace(namespace)
        }
        spec.expectations.append(
            LabExpectation(
                source: source, target: expectation, port: port, reaches: reaches, line: line))
    }

    /// `resolv NS nameserver ADDR [nameserver ADDR …] [search DOMAIN …]`.
    mutating func resolv(_ words: [String], line: Int) {
        let usage = "usage: resolv NS nameserver ADDRESS [nameserver ADDRESS …] [search DOMAIN …]"
        guard words.count >= 4 else { return error(line, usage) }
        if words[1] == "host" {
            return error(
                line,
                "resolv host: the host's /etc/resolv.conf is not the lab's to write (name a namespace of the lab)"
            )
        }
        guard let namespace = namespace(words[1], line: line), let namespace else { return }
        var nameservers: [IPAddress] = []
        var search: [String] = []
        var index = 2
        while index < words.count {
            switch words[index] {
            case "nameserver" where index + 1 < words.count && search.isEmpty:
                guard let address = IPAddress(words[index + 1]) else {
                    return error(line, "malformed name server address \"\(words[index + 1])\"")
                }
                nameservers.append(address)
                index += 2
            case "search" where index + 1 < words.count:
                search = Array(words[(index + 1)...])
                index = words.count
            default: return error(line, usage)
            }
        }
        if nameservers.isEmpty { return error(line, usage) }
        if nameservers.count > 3 {
            return error(line, "at most 3 name servers (glibc reads no more)")
        }
        if let earlier = spec.resolvers.first(where: { $0.namespace == namespace }) {
            return error(
                line,
                "duplicate resolv for \(words[1]) (first on line \(earlier.line))")
        }
        spec.resolvers.append(
            LabResolver(namespace: namespace, nameservers: nameservers, search: search, line: line))
    }

    /// `upstream IF@NS dhcp FIRST-LAST [router A] [dns A[,A…]] [lease SECONDS]`.
    mutating func upstream(_ words: [String], line: Int) {
        let usage =
            "usage: upstream IF@NS dhcp FIRST-LAST [router ADDRESS] [dns ADDRESS[,ADDRESS…]] [lease SECONDS]"
        guard words.count >= 4, words.count % 2 == 0, words[2] == "dhcp" else {
            return error(line, usage)
        }
        guard let interface = interface(words[1], line: line) else { return }
        let range = words[3].split(separator: "-", omittingEmptySubsequences: false)
        guard range.count == 2, let first = IPAddress(String(range[0])),
            let last = IPAddress(String(range[1])), first.isIPv4, last.isIPv4
        else {
            return error(
                line,
                "malformed range \"\(words[3])\" (expected FIRST-LAST, e.g. 10.5.0.100-10.5.0.199)")
        }
        guard case .v4(let low) = first, case .v4(let high) = last, low <= high else {
            return error(line, "range \(words[3]) ends before it starts")
        }
        var server = LabDHCPServer(
            interface: interface.name, first: first, last: last,
            network: IPPrefix(address: first, length: 32), router: nil, dnsServers: [],
            leaseSeconds: LabDHCPServer.defaultLeaseSeconds)
        var index = 4
        while index + 1 < words.count {
            let value = words[index + 1]
            switch words[index] {
            case "router":
                guard let router = IPAddress(value), router.isIPv4 else {
                    return error(line, "malformed router address \"\(value)\" (IPv4 expected)")
                }
                server.router = router
            case "dns":
                let addresses = value.split(separator: ",").map { IPAddress(String($0)) }
                guard !addresses.isEmpty, addresses.allSatisfy({ $0?.isIPv4 == true }) else {
                    return error(line, "malformed dns address list \"\(value)\" (IPv4 expected)")
                }
                server.dnsServers = addresses.map { $0! }
            case "lease":
                guard let seconds = Int(value), seconds >= 120 else {
                    return error(
                        line,
                        "lease \"\(value)\": expected seconds, at least 120 (dnsmasq's minimum)")
                }
                server.leaseSeconds = seconds
            default: return error(line, usage)
            }
            index += 2
        }
        if let earlier = spec.servers.first(where: {
            if case .dhcpServer(let other) = $0.kind {
                return $0.namespace == interface.namespace && other.interface == interface.name
            }
            return false
        }) {
            return error(
                line, "\(shown(interface)) already has a DHCP server (line \(earlier.line))")
        }
        spec.servers.append(
            LabServer(namespace: interface.namespace, kind: .dhcpServer(server), line: line))
    }

    /// `uplink BRIDGE@NS PORT IF@UPSTREAM` (a veth: PORT plugged into BRIDGE, IF in the
    /// upstream namespace) or `uplink BRIDGE@NS nic NAME` (a real NIC: see LabNICUplink).
    mutating func uplink(_ words: [String], line: Int) {
        let usage = "usage: uplink BRIDGE@NS PORT IF@NS, or uplink BRIDGE@NS nic NAME"
        guard words.count == 4, let bridge = interface(words[1], line: line) else {
            return error(line, usage)
        }
        if words[2] == "nic" {
            let nic = words[3]
            guard nic.utf8.count <= maximumInterfaceNameLength, !nic.contains("/"), nic != "lo"
            else { return error(line, "invalid NIC name \"\(nic)\"") }
            spec.nicUplinks.append(LabNICUplink(bridge: bridge, nic: nic, line: line))
            return
        }
        let port = LabInterface(
            name: renaming.interfacePrefix + words[2], namespace: bridge.namespace)
        guard let far = interface(words[3], line: line) else { return }
        if far.namespace == bridge.namespace {
            return error(
                line,
                "the uplink's far end \(shown(far)) must be in another namespace than the bridge (the upstream network)"
            )
        }
        guard declare(port, line: line), declare(far, line: line) else { return }
        spec.veths.append(LabVeth(first: port, second: far, line: line))
        uplinkPorts.append((bridge, port.name, line))
    }

    /// Checks that need the whole file: references, overlaps, gateways.
    mutating func validate() {
        // A lab's resolver is a server inside the lab: never one off the machine.
        let labAddresses = Set(spec.addresses.map(\.prefix.address))
        for resolver in spec.resolvers {
            for address in resolver.nameservers where !labAddresses.contains(address) {
                error(
                    resolver.line,
                    "name server \(address) is no address of this lab (a lab's resolver must run inside it, e.g. dnsmasq with run)"
                )
            }
        }
        for uplink in uplinkPorts {
            guard let index = spec.bridges.firstIndex(where: { $0.bridge == uplink.bridge }) else {
                error(
                    uplink.line,
                    "unknown bridge \(shown(uplink.bridge)) (declare it with a bridge line)")
                continue
            }
            spec.bridges[index].ports.append(uplink.port)
        }
        for nic in spec.nicUplinks where !bridgeNames.contains(nic.bridge) {
            error(nic.line, "unknown bridge \(shown(nic.bridge)) (declare it with a bridge line)")
        }
        for bridge in spec.bridges {
            for port in bridge.ports {
                let interface = LabInterface(name: port, namespace: bridge.bridge.namespace)
                if declared[interface] == nil {
                    error(
                        bridge.line,
                        "bridge port \(shown(interface)) is not declared (ports must be in the bridge's namespace)"
                            + interfaceHint(interface))
                } else if bridgeNames.contains(interface) {
                    error(bridge.line, "bridge port \(shown(interface)) is itself a bridge")
                }
            }
        }
        var portOwners: [LabInterface: Int] = [:]
        for bridge in spec.bridges {
            for port in bridge.ports {
                let interface = LabInterface(name: port, namespace: bridge.bridge.namespace)
                if let earlier = portOwners[interface] {
                    error(
                        bridge.line,
                        "\(shown(interface)) is already a port of the bridge on line \(earlier)")
                }
                portOwners[interface] = bridge.line
            }
        }
        let segments = LabSegments(spec)
        var seen: [IPAddress: LabAddress] = [:]
        for address in spec.addresses {
            if declared[address.interface] == nil {
                let hint = interfaceHint(address.interface)
                error(
                    address.line,
                    "unknown interface \(shown(address.interface))"
                        + (hint.isEmpty ? " (declare it with veth or bridge)" : hint))
                continue
            }
            if portOwners[address.interface] != nil {
                error(
                    address.line,
                    "\(shown(address.interface)) is a bridge port: put the address on the bridge")
            }
            if let earlier = seen[address.prefix.address] {
                error(
                    address.line,
                    "address \(address.prefix.address) is already used on line \(earlier.line)")
                continue
            }
            seen[address.prefix.address] = address
        }
        // Different networks (segments) must not overlap: routing between them would be ambiguous.
        let valid = spec.addresses.filter { declared[$0.interface] != nil }
        for (i, a) in valid.enumerated() {
            for b in valid[..<i] where a.prefix.overlaps(b.prefix) {
                if segments.segment(of: a.interface) != segments.segment(of: b.interface) {
                    error(
                        a.line,
                        "\(a.prefix) overlaps \(b.prefix) on line \(b.line), which is on another network"
                    )
                    break
                } else if a.prefix.network != b.prefix.network {
                    error(
                        a.line,
                        "\(a.prefix) and \(b.prefix) on line \(b.line) share a network but not its prefix"
                    )
                    break
                }
            }
        }
        // An expect line probes only the lab's own addresses: anything else could leave the machine.
        for expectation in spec.expectations {
            switch expectation.target {
            case .address(let address):
                guard let owner = valid.first(where: { $0.prefix.address == address }) else {
                    error(
                        expectation.line,
                        "\(address) is no address of the lab (expect probes only the lab's own addresses)"
                    )
                    continue
                }
                if owner.interface.namespace == expectation.source {
                    error(
                        expectation.line,
                        "\(address) is an address of \(renaming.fileName(ofNamespace: expectation.source)) itself"
                    )
                }
            case .namespace(let namespace):
                if !valid.contains(where: { $0.interface.namespace == namespace }) {
                    error(
                        expectation.line,
                        "\(renaming.fileName(ofNamespace: namespace)) has no address in the file: nothing to probe"
                    )
                }
            }
        }
        for dhcp in spec.dhcpAddresses {
            if declared[dhcp.interface] == nil {
                error(
                    dhcp.line,
                    "unknown interface \(shown(dhcp.interface))"
                        + interfaceHint(dhcp.interface))
            } else if portOwners[dhcp.interface] != nil {
                error(
                    dhcp.line,
                    "\(shown(dhcp.interface)) is a bridge port: put the address on the bridge")
            } else if bridgeNames.contains(dhcp.interface) {
                error(dhcp.line, "a bridge cannot take its address by DHCP here")
            }
        }
        for (index, server) in spec.servers.enumerated() {
            guard case .dhcpServer(var dhcp) = server.kind else { continue }
            let interface = LabInterface(name: dhcp.interface, namespace: server.namespace)
            if declared[interface] == nil {
                error(
                    server.line, "unknown interface \(shown(interface))" + interfaceHint(interface))
                continue
            }
            guard
                let own = valid.first(where: {
                    $0.interface == interface && $0.prefix.address.isIPv4
                        && $0.prefix.contains(dhcp.first)
                })
            else {
                error(
                    server.line,
                    "\(shown(interface)) has no address on the network of \(dhcp.first)-\(dhcp.last) (add one: addr \(shown(interface)) ADDRESS/LENGTH)"
                )
                continue
            }
            if !own.prefix.contains(dhcp.last) {
                error(
                    server.line, "\(dhcp.last) is outside \(own.prefix.network) of line \(own.line)"
                )
                continue
            }
            if case .v4(let address) = own.prefix.address, case .v4(let low) = dhcp.first,
                case .v4(let high) = dhcp.last, (low...high).contains(address)
            {
                error(
                    server.line,
                    "the range \(dhcp.first)-\(dhcp.last) holds the server's own address \(own.prefix.address)"
                )
            }
            if let router = dhcp.router, !own.prefix.contains(router) {
                error(server.line, "router \(router) is not on \(own.prefix.network)")
            }
            dhcp.network = own.prefix.network
            spec.servers[index].kind = .dhcpServer(dhcp)
        }
        for route in spec.routes {
            if let device = route.device,
                declared[LabInterface(name: device, namespace: route.namespace)] == nil
            {
                let interface = LabInterface(name: device, namespace: route.namespace)
                error(
                    route.line, "unknown interface \(shown(interface))" + interfaceHint(interface))
                continue
            }
            guard let gateway = route.gateway else { continue }
            let attached = valid.filter {
                $0.interface.namespace == route.namespace
                    && (route.device == nil || $0.interface.name == route.device)
            }
            if !attached.contains(where: { $0.prefix.contains(gateway) }) {
                error(
                    route.line,
                    "gateway \(gateway) is on no network attached to \(renaming.fileName(ofNamespace: route.namespace))"
                )
            } else if attached.contains(where: { $0.prefix.address == gateway }) {
                error(
                    route.line,
                    "gateway \(gateway) is an address of \(renaming.fileName(ofNamespace: route.namespace)) itself"
                )
            }
        }
    }
}
