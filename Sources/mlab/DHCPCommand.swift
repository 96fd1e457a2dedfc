import ArgumentParser
import DHCP
import DHCPClient
import Glibc
import Lab
import LinuxSystem

/// `mlab dhcp [-n NS] IF [--release]`, as `dhclient IF` / `dhclient -r IF` of the course's
/// §5: gets a lease and puts its address and default route on the link (through netlink),
/// or gives it back and takes them off.
struct DHCPCommand: ParsableCommand, PrivilegedVerb {
    static let configuration = CommandConfiguration(
        commandName: "dhcp",
        abstract: "Get a DHCP lease for an interface and apply it (dhclient IF), or release it.",
        discussion: """
            Broadcasts DHCPDISCOVER on IF (which needs no address; it is brought up if down), \
            requests the first offer, then adds the leased address and, if the server hands \
            out a router and the namespace has no default route, the default route via it. The \
            lease is kept in mlab's state directory until --release sends DHCPRELEASE to the \
            server and removes the address and route again. No renewal: a lab's lease outlives \
            the exercise (mlab's lab servers hand out an hour by default).
            """)

    @OptionGroup var netns: NamespaceOption
    @Flag(help: "Give the lease back (DHCPRELEASE) and remove its address and route.")
    var release = false
    @Option(help: "Seconds to wait for a lease.") var timeout: Double = 10
    @Option(help: "Host name to send (option 12).") var hostname: String?
    @Flag(
        name: .customLong("allow-nic"),
        help: "Allow DHCP on a real network card of the host (it talks to the real network).")
    var allowNIC = false
    @Argument(help: "The interface.") var interface: String

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout needs a positive number") }
    }

    var leasePath: String {
        DHCPLeaseFile.path(
            directory: LabState.directory + "/dhcp", interface: interface,
            namespace: netns.namespace)
    }

    func run() throws {
        let verb = "dhcp \(interface)" + (release ? " --release" : "")
        if netns.namespace == nil, !allowNIC, DHCPClient.isRealNIC(interface) {
            throw VerbError(
                description:
                    "mlab \(verb): \(interface) is a real network card of this machine: DHCP on it talks to the real network; refused without --allow-nic (a lab's interfaces are in namespaces: -n NS)"
            )
        }
        try speakingMLab(verb, namespace: netns.namespace, device: interface) {
            release ? try giveBack() : try take()
        }
    }

    private func take() throws {
        if let held = try DHCPLeaseFile.load(leasePath) {
            throw VerbError(
                description:
                    "mlab dhcp \(interface): holds \(held.lease) already (mlab dhcp --release first)"
            )
        }
        let lease: DHCPLease
        let applied: DHCPApplied
        do {
            lease = try DHCPClient.acquire(
                interface: interface, namespace: netns.namespace, hostName: hostname,
                timeout: timeout)
            applied = try DHCPClient.apply(lease, interface: interface, namespace: netns.namespace)
        } catch .netlink(_, let error) {
            // A missing interface is told in mlab's words, with where it is instead.
            throw error
        } catch {
            throw VerbError(description: "mlab \(error)")
        }
        try DHCPLeaseFile(lease: lease, applied: applied).save(to: leasePath)
        var line = "\(interface): \(lease)"
        if let router = applied.router { line += "; default via \(router)" }
        print(line)
    }

    private func giveBack() throws {
        guard let held = try DHCPLeaseFile.load(leasePath) else {
            throw VerbError(
                description:
                    "mlab dhcp \(interface) --release: no lease held (\(leasePath) does not exist)")
        }
        do {
            try DHCPClient.release(
                held.lease, applied: held.applied, interface: interface,
                namespace: netns.namespace)
        } catch .netlink(_, let error) {
            throw error
        } catch {
            throw VerbError(description: "mlab \(error)")
        }
        try DHCPLeaseFile.remove(leasePath)
        print("\(interface): released \(held.lease.address) to \(held.lease.server)")
    }
}
