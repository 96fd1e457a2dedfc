public import DHCP
public import DHCPClient
import Glibc
import LinuxSystem
import Namespaces
import Netlink

/// What one lab instance holds on this machine, kept by `up` in a state file under
/// `/run/mlab/labs/` (a tmpfs: a reboot, which takes the namespaces too, takes the state):
/// the namespaces it uses and the host addresses it puts there, with their lines (to refuse
/// a second lab that overlaps, naming both files), and every change `up` made (for `down` to
/// undo exactly that, nothing of the user's or of another lab).
///
/// The file is text, one record a line, words separated by blanks:
/// ```
/// lab NAME
/// file PATH
/// uses NAMESPACE LINE          a namespace of the lab (real, renamed name)
/// hostaddr HOST PREFIX IF LINE an address the lab puts in its host ("-": the real one)
/// hostforward HOST LINE        `forward host`: the lab turns on forwarding in its host
/// made netns NAMESPACE         changes up made, in order (NS is "-" for the real host)
/// made forwarding NAMESPACE V4 V6 PREV4 PREV6   (PREV: the value down restores)
/// made veth IF NS PEER PEERNS
/// made bridge IF NS
/// made master IF NS BRIDGE
/// made up IF NS
/// made addr IF NS PREFIX
/// made route NS DEST|default GATEWAY|- DEVICE|-
/// made resolv NS NAMESERVER,… SEARCH,…|-
/// server LINE PID STARTTIME LOG a server up started (`smtpd`, `run`, `upstream`), for down to stop
/// lease LINE IF NS ADDRESS/LEN SERVER ROUTER|- MAC SECONDS PREFIX ROUTER|-
///                              a DHCP lease up took (`addr IF@NS dhcp`) and what it applied,
///                              for down to release
/// ```
/// Server logs and notify sockets live in the directory `/run/mlab/labs/LAB/`.
public struct LabState: Sendable, Equatable {
    public struct Use: Sendable, Equatable {
        public var namespace: String
        public var line: Int
    }
    public struct HostAddress: Sendable, Equatable {
        /// The host it is in: nil for the real one, else the `--host` stand-in.
        public var host: String?
        public var prefix: IPPrefix
        public var interface: String
        public var line: Int
    }
    /// `forward host`: forwarding in the lab's host, a setting of the whole host.
    public struct HostForwarding: Sendable, Equatable {
        /// nil for the real host, else the `--host` stand-in.
        public var host: String?
        public var line: Int
    }
    /// One change `up` made, with the forwarding value it replaced.
    public struct Change: Sendable, Equatable {
        public var action: LabStep.Action
        public var previous: Forwarding?

        public init(action: LabStep.Action, previous: Forwarding? = nil) {
            self.action = action
            self.previous = previous
        }
    }

    /// The lab instance: the lab's name, after the namespace prefix (`p-daisy`).
    public var lab: String
    public var file: String
    public var uses: [Use] = []
    public var hostAddresses: [HostAddress] = []
    public var hostForwarding: HostForwarding?
    public var made: [Change] = []
    public var servers: [LabServerRecord] = []
    public var leases: [Lease] = []

    /// A lease `up` took for `addr IF@NS dhcp` on line `line`, with what it put on the link.
    public struct Lease: Sendable, Equatable {
        public var line: Int
        public var interface: LabInterface
        public var lease: DHCPLease
        public var applied: DHCPApplied
    }

    /// Where the state files live: `$MLAB_STATE_DIR`, else `/run/mlab/labs`.
    public static var directory: String {
        if let value = getenv("MLAB_STATE_DIR"), value.pointee != 0 {
            return String(cString: value)
        }
        return "/run/mlab/labs"
    }

    /// The state file of a lab instance.
    public static func path(of lab: String) -> String { "\(directory)/\(lab).state" }

    /// What a lab claims, before any change is made.
    init(claimsOf spec: LabSpec) {
        lab = spec.instanceName
        file = spec.file
        // The `--host` stand-in is the lab's host, shared like the real one, not its own.
        let host = spec.renaming.hostNamespace
        uses = spec.namespaces.filter { $0.name != host }.map {
            Use(namespace: $0.name, line: $0.line)
        }
        hostAddresses = spec.addresses.filter { $0.interface.namespace == host }.map {
            HostAddress(host: host, prefix: $0.prefix, interface: $0.interface.name, line: $0.line)
        }
        hostForwarding = spec.hostForwardLine.map { HostForwarding(host: host, line: $0) }
    }

    init(lab: String, file: String) {
        self.lab = lab
        self.file = file
    }

    // MARK: Text

    /// The state file's text.
    public var text: String {
        var lines = ["lab \(lab)", "file \(file)"]
        lines += uses.map { "uses \($0.namespace) \($0.line)" }
        lines += hostAddresses.map {
            "hostaddr \(Self.ns($0.host)) \($0.prefix) \($0.interface) \($0.line)"
        }
        if let forwarding = hostForwarding {
            lines.append("hostforward \(Self.ns(forwarding.host)) \(forwarding.line)")
        }
        lines += made.map { "made " + Self.words(of: $0).joined(separator: " ") }
        lines += servers.map { "server \($0.line) \($0.pid) \($0.startTime) \($0.log)" }
        lines += leases.map {
            (["lease", "\($0.line)", $0.interface.name, Self.ns($0.interface.namespace)]
                + $0.lease.words + [
                    "\($0.applied.address)", $0.applied.router.map(\.description) ?? "-",
                ]).joined(separator: " ")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func ns(_ namespace: String?) -> String { namespace ?? "-" }
    private static func namespace(_ word: String) -> String? { word == "-" ? nil : word }
    private static func bit(_ value: Bool) -> String { value ? "1" : "0" }

    private static func words(of change: Change) -> [String] {
        switch change.action {
        case .addNamespace(let name): return ["netns", name]
        case .setForwarding(let name, let value):
            let previous = change.previous ?? Forwarding(ipv4: false, ipv6: false)
            return [
                "forwarding", ns(name), bit(value.ipv4), bit(value.ipv6), bit(previous.ipv4),
                bit(previous.ipv6),
            ]
        case .addVeth(let creator, let peer):
            return ["veth", creator.name, ns(creator.namespace), peer.name, ns(peer.namespace)]
        case .addBridge(let bridge): return ["bridge", bridge.name, ns(bridge.namespace)]
        case .setMaster(let port, let bridge):
            return ["master", port.name, ns(port.namespace), bridge]
        case .setUp(let link): return ["up", link.name, ns(link.namespace)]
        case .addAddress(let link, let prefix):
            return ["addr", link.name, ns(link.namespace), "\(prefix)"]
        case .addRoute(let route):
            return [
                "route", ns(route.namespace), route.destination.map { "\($0)" } ?? "default",
                route.gateway.map { "\($0)" } ?? "-", route.device ?? "-",
            ]
        case .writeResolvConf(let namespace, let nameservers, let search):
            return [
                "resolv", namespace, nameservers.map { "\($0)" }.joined(separator: ","),
                search.isEmpty ? "-" : search.joined(separator: ","),
            ]
        }
    }

    /// Parses a state file; nil for a line it does not understand (the file is ours alone).
    public init?(text: String) {
        lab = ""
        file = ""
        for line in text.split(separator: "\n") {
            let w = line.split(separator: " ").map(String.init)
            guard let first = w.first else { continue }
            switch (first, w.count) {
            case ("lab", 2): lab = w[1]
            case ("file", 2...): file = w.dropFirst().joined(separator: " ")
            case ("uses", 3):
                guard let number = Int(w[2]) else { return nil }
                uses.append(Use(namespace: w[1], line: number))
            case ("hostaddr", 5):
                guard let prefix = IPPrefix(w[2]), let number = Int(w[4]) else { return nil }
                hostAddresses.append(
                    HostAddress(
                        host: Self.namespace(w[1]), prefix: prefix, interface: w[3], line: number))
            case ("hostforward", 3):
                guard let number = Int(w[2]) else { return nil }
                hostForwarding = HostForwarding(host: Self.namespace(w[1]), line: number)
            case ("server", 5...):
                guard let number = Int(w[1]), let pid = pid_t(w[2]), let start = UInt64(w[3])
                else { return nil }
                servers.append(
                    LabServerRecord(
                        line: number, pid: pid, startTime: start,
                        log: w.dropFirst(4).joined(separator: " ")))
            case ("lease", 11):
                guard let number = Int(w[1]), let lease = DHCPLease(words: Array(w[4..<9])),
                    let address = IPPrefix(w[9])
                else { return nil }
                var router: IPAddress?
                if w[10] != "-" {
                    guard let parsed = IPAddress(w[10]) else { return nil }
                    router = parsed
                }
                leases.append(
                    Lease(
                        line: number,
                        interface: LabInterface(name: w[2], namespace: Self.namespace(w[3])),
                        lease: lease, applied: DHCPApplied(address: address, router: router)))
            case ("made", 2...):
                guard let change = Self.change(Array(w.dropFirst())) else { return nil }
                made.append(change)
            default: return nil
            }
        }
        if lab.isEmpty { return nil }
    }

    private static func change(_ w: [String]) -> Change? {
        func interface(_ i: Int) -> LabInterface {
            LabInterface(name: w[i], namespace: namespace(w[i + 1]))
        }
        switch (w[0], w.count) {
        case ("netns", 2): return Change(action: .addNamespace(w[1]))
        case ("forwarding", 6):
            return Change(
                action: .setForwarding(
                    namespace(w[1]), Forwarding(ipv4: w[2] == "1", ipv6: w[3] == "1")),
                previous: Forwarding(ipv4: w[4] == "1", ipv6: w[5] == "1"))
        case ("veth", 5): return Change(action: .addVeth(creator: interface(1), peer: interface(3)))
        case ("bridge", 3): return Change(action: .addBridge(interface(1)))
        case ("master", 4): return Change(action: .setMaster(interface(1), bridge: w[3]))
        case ("up", 3): return Change(action: .setUp(interface(1)))
        case ("addr", 4):
            guard let prefix = IPPrefix(w[3]) else { return nil }
            return Change(action: .addAddress(interface(1), prefix))
        case ("route", 5):
            var route = LabRoute(
                namespace: namespace(w[1]), destination: nil, gateway: nil, device: nil, line: 0)
            if w[2] != "default" {
                guard let destination = IPPrefix(w[2]) else { return nil }
                route.destination = destination
            }
            if w[3] != "-" {
                guard let gateway = IPAddress(w[3]) else { return nil }
                route.gateway = gateway
            }
            route.device = w[4] == "-" ? nil : w[4]
            return Change(action: .addRoute(route))
        case ("resolv", 4):
            let nameservers = w[2].split(separator: ",").compactMap { IPAddress(String($0)) }
            guard !nameservers.isEmpty else { return nil }
            let search = w[3] == "-" ? [] : w[3].split(separator: ",").map(String.init)
            return Change(
                action: .writeResolvConf(namespace: w[1], nameservers: nameservers, search: search))
        default: return nil
        }
    }

    // MARK: Files

    /// The state of `lab`, nil if it has none.
    public static func load(_ lab: String) throws(LabError) -> LabState? {
        let path = path(of: lab)
        guard FileSystem.exists(path) else { return nil }
        do {
            let bytes = try FileSystem.readFile(path, limit: 1 << 20, regularOnly: true)
            guard let state = LabState(text: String(decoding: bytes, as: UTF8.self)) else {
                throw LabError(
                    location: path,
                    message: "not an mlab state file (remove it by hand if no lab is up)")
            }
            return state
        } catch let error as SystemError {
            throw LabError(location: path, message: "cannot read: \(error)")
        } catch let error as LabError {
            throw error
        } catch {
            throw LabError(location: path, message: "\(error)")
        }
    }

    /// Every lab's state but `lab`'s own.
    static func others(than lab: String) throws(LabError) -> [LabState] {
        guard let names = try? FileSystem.directoryEntries(directory) else { return [] }
        var states: [LabState] = []
        for name in names.sorted() where name.hasSuffix(".state") {
            let instance = String(name.dropLast(".state".count))
            if instance != lab, let state = try load(instance) { states.append(state) }
        }
        return states
    }

    /// Makes the state directory (and `/run/mlab` for the default one) and `extra` in it.
    static func makeDirectory(_ extra: String? = nil) throws(SystemError) {
        let parents = directory == "/run/mlab/labs" ? ["/run/mlab"] : []
        for directory in parents + [directory] + (extra.map { [$0] } ?? [])
        where !FileSystem.exists(directory) {
            do {
                try FileSystem.mkdir(directory, mode: 0o755)
            } catch  where error.errno == EEXIST {}
        }
    }

    /// Writes the state (a temporary file renamed over the old one: never half a state).
    func save() throws(LabError) {
        let path = Self.path(of: lab)
        do {
            try Self.makeDirectory()
            let temporary = path + ".tmp-\(getpid())"
            try FileSystem.writeFile(temporary, Array(text.utf8))
            try FileSystem.rename(temporary, path)
        } catch {
            throw LabError(location: path, message: "cannot write the lab's state: \(error)")
        }
    }

    /// Removes the state file and the lab's directory (server logs).
    static func remove(_ lab: String) throws(LabError) {
        FileSystem.removeTree(LabServerProcess.directory(of: lab))
        do {
            try FileSystem.unlink(path(of: lab))
        } catch  where error.errno == ENOENT {
        } catch {
            throw LabError(
                location: path(of: lab), message: "cannot remove the lab's state: \(error)")
        }
    }
}
