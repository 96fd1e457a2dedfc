import ArgumentParser
import Namespaces
import Netlink

/// `mlab link …`, the single steps of `ip link`.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Links: veth pairs, bridges, up/down, namespaces, bridge membership.",
        subcommands: [
            List.self, AddVeth.self, AddBridge.self, Del.self, Up.self, Down.self, SetNetns.self,
            Master.self,
            NoMaster.self,
        ])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "ip link show")
        @OptionGroup var netns: NamespaceOption
        func run() throws {
            let (handle, links) = try speakingMLab("link list", namespace: netns.namespace) {
                let handle = try NetlinkHandle(namespace: netns.namespace)
                return (handle, try handle.links())
            }
            let peers = VethPeers(handle: handle, links: links)
            for link in links {
                var line =
                    "\(link.index): \(link.name) \(link.kind ?? "-") \(link.isUp ? "UP" : "DOWN")"
                    + " carrier \(link.hasCarrier ? "yes" : "no") mtu \(link.mtu)"
                if let master = link.masterIndex,
                    let bridge = links.first(where: { $0.index == master })
                {
                    line += " master \(bridge.name)"
                }
                if link.kind == "veth" { line += " peer \(peers.describe(link))" }
                print(line)
            }
        }
    }

    struct AddVeth: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-veth",
            abstract: "ip link add NAME type veth peer name PEER [netns NS]")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        @Argument var peer: String
        @Option(help: "Create the peer directly inside this namespace.") var peerNetns: String?
        func run() throws {
            try speakingMLab("link add-veth \(name) \(peer)", namespace: netns.namespace) {
                if let peerNetns, !NetworkNamespace.exists(peerNetns) {
                    throw VerbError(
                        description:
                            "mlab link add-veth \(name) \(peer): no namespace \"\(peerNetns)\" for --peer-netns"
                    )
                }
                try NetlinkHandle(namespace: netns.namespace).addVeth(
                    name, peer: peer, peerNamespace: peerNetns)
            }
        }
    }

    struct AddBridge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-bridge", abstract: "ip link add name NAME type bridge")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        func run() throws {
            try speakingMLab("link add-bridge \(name)", namespace: netns.namespace) {
                try NetlinkHandle(namespace: netns.namespace).addBridge(name)
            }
        }
    }

    struct Del: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "del",
            abstract: "ip link del NAME")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        func run() throws {
            try speakingMLab("link del \(name)", namespace: netns.namespace, device: name) {
                try NetlinkHandle(namespace: netns.namespace).deleteLink(name)
            }
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract: "ip link set NAME up")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        func run() throws {
            try speakingMLab("link up \(name)", namespace: netns.namespace, device: name) {
                try NetlinkHandle(namespace: netns.namespace).setUp(name)
            }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "down",
            abstract: "ip link set NAME down")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        func run() throws {
            try speakingMLab("link down \(name)", namespace: netns.namespace, device: name) {
                try NetlinkHandle(namespace: netns.namespace).setDown(name)
            }
        }
    }

    struct SetNetns: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-netns",
            abstract: "ip link set NAME netns TARGET (host: back into the host, mlab's own)")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        @Argument var target: String
        func run() throws {
            try speakingMLab(
                "link set-netns \(name) \(target)", namespace: netns.namespace, device: name
            ) {
                try NetlinkHandle(namespace: netns.namespace).moveLink(
                    name, toNamespace: target == "host" ? nil : target)
            }
        }
    }

    struct Master: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "master",
            abstract: "ip link set NAME master BRIDGE")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        @Argument var bridge: String
        func run() throws {
            try speakingMLab(
                "link master \(name) \(bridge)", namespace: netns.namespace, device: name
            ) {
                try NetlinkHandle(namespace: netns.namespace).setMaster(name, bridge: bridge)
            }
        }
    }

    struct NoMaster: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nomaster", abstract: "ip link set NAME nomaster")
        @OptionGroup var netns: NamespaceOption
        @Argument var name: String
        func run() throws {
            try speakingMLab("link nomaster \(name)", namespace: netns.namespace, device: name) {
                try NetlinkHandle(namespace: netns.namespace).setNoMaster(name)
            }
        }
    }
}
