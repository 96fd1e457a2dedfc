public import Netlink

/// A process the lab runs inside one of its namespaces for as long as it is up: `smtpd NS
/// CONFIG` (MailLab's smtpd, ready when every listener is bound) or `run NS -- CMD ARGS…`
/// (any program, ready once it has started) or `upstream IF@NS dhcp …` (dnsmasq as the
/// DHCP server of the outside network, ready when it has bound port 67).
public struct LabServer: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `smtpd -d -f CONFIG`; the path is already resolved against the lab file's directory.
        case smtpd(config: String)
        /// The command line as written after `--`.
        case run([String])
        /// dnsmasq serving DHCP (only) on an interface of the namespace.
        case dhcpServer(LabDHCPServer)
    }

    /// The (renamed) namespace; nil for the real host.
    public var namespace: String?
    public var kind: Kind
    public var line: Int

    public init(namespace: String?, kind: Kind, line: Int) {
        self.namespace = namespace
        self.kind = kind
        self.line = line
    }

    /// The program's short name, for log file names and messages.
    public var program: String {
        switch kind {
        case .smtpd: return "smtpd"
        case .dhcpServer: return "dnsmasq"
        case .run(let command):
            return String(command[0].split(separator: "/").last ?? Substring(command[0]))
        }
    }

    /// The statement in the file's words: `smtpd gruen conf/smtpd.conf`.
    public func summary(_ renaming: LabRenaming) -> String {
        let namespace = renaming.fileName(ofNamespace: namespace)
        switch kind {
        case .smtpd(let config): return "smtpd \(namespace) \(config)"
        case .dhcpServer(let server):
            return "upstream \(renaming.fileName(ofInterface: server.interface))@\(namespace) "
                + server.statementTail
        case .run(let command):
            return "run \(namespace) -- " + command.joined(separator: " ")
        }
    }
}

/// `upstream IF@NS dhcp FIRST-LAST [router A] [dns A[,A…]] [lease SECONDS]`: the namespace
/// plays the course's outside network (what `enp5s0` leads to): a DHCP server on IF handing
/// out FIRST…LAST on IF's network, and the router and name servers if given. Nothing leaves
/// the namespace: dnsmasq runs there with DNS off (`--port=0`), no resolv.conf, no hosts file.
public struct LabDHCPServer: Hashable, Sendable {
    /// The (renamed) interface it serves, in the server's namespace.
    public var interface: String
    public var first: IPAddress
    public var last: IPAddress
    /// The network of IF's address (for the mask handed out).
    public var network: IPPrefix
    public var router: IPAddress?
    public var dnsServers: [IPAddress]
    public var leaseSeconds: Int

    public static let defaultLeaseSeconds = 3600

    /// The statement after `upstream IF@NS `.
    public var statementTail: String {
        var text = "dhcp \(first)-\(last)"
        if let router { text += " router \(router)" }
        if !dnsServers.isEmpty {
            text += " dns " + dnsServers.map(\.description).joined(separator: ",")
        }
        if leaseSeconds != Self.defaultLeaseSeconds { text += " lease \(leaseSeconds)" }
        return text
    }

    /// dnsmasq's command line: DHCP only on IF, in the foreground, its lease file at
    /// `leaseFile`, logging to stderr (the server's log), no config file, no DNS, no ping
    /// before an offer (a lab has nobody squatting addresses; the ping costs 3 s per offer).
    public func arguments(leaseFile: String) -> [String] {
        let mask: UInt32 = network.length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(network.length))
        let maskText = [24, 16, 8, 0].map { String((mask >> UInt32($0)) & 0xFF) }.joined(
            separator: ".")
        var arguments = [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--port=0", "--no-ping", "--dhcp-authoritative",
            "--interface=\(interface)", "--bind-interfaces",
            "--dhcp-range=\(first),\(last),\(maskText),\(leaseSeconds)",
            "--dhcp-leasefile=\(leaseFile)", "--pid-file=", "--user=root", "--group=root",
            "--log-facility=-", "--log-dhcp",
        ]
        if let router { arguments.append("--dhcp-option=option:router,\(router)") }
        if !dnsServers.isEmpty {
            arguments.append(
                "--dhcp-option=option:dns-server,"
                    + dnsServers.map(\.description).joined(separator: ","))
        }
        return arguments
    }
}
