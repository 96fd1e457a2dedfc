import ArgumentParser
import Netlink

func parsePrefix(_ text: String) throws -> IPPrefix {
    guard text.contains("/"), let prefix = IPPrefix(text) else {
        throw ValidationError("\(text): expected ADDRESS/LENGTH, e.g. 10.0.0.2/24")
    }
    return prefix
}

/// `mlab addr …`, as `ip addr`.
struct AddrCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "addr", abstract: "IPv4/IPv6 addresses.",
        subcommands: [List.self, Add.self, Del.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "ip addr show [dev NAME]")
        @OptionGroup var netns: NamespaceOption
        @Argument var device: String?
        func run() throws {
            let handle = try NetlinkHandle(namespace: netns.namespace)
            let names = Dictionary(
                try handle.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
            for entry in try handle.addresses(of: device) {
                print("\(names[entry.linkIndex] ?? "\(entry.linkIndex)") \(entry.prefix)")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "ip addr add PREFIX dev NAME (IPv6: nodad)")
        @OptionGroup var netns: NamespaceOption
        @Argument var prefix: String
        @Argument var device: String
        func run() throws {
            let parsed = try parsePrefix(prefix)
            try speakingMLab(
                "addr add \(prefix) \(device)", namespace: netns.namespace, device: device
            ) {
                try NetlinkHandle(namespace: netns.namespace).addAddress(parsed, to: device)
            }
        }
    }

    struct Del: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "del",
            abstract: "ip addr del PREFIX dev NAME")
        @OptionGroup var netns: NamespaceOption
        @Argument var prefix: String
        @Argument var device: String
        func run() throws {
            let parsed = try parsePrefix(prefix)
            try speakingMLab(
                "addr del \(prefix) \(device)", namespace: netns.namespace, device: device
            ) {
                try NetlinkHandle(namespace: netns.namespace).deleteAddress(parsed, from: device)
            }
        }
    }
}

/// `mlab route …`, as `ip route`.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route", abstract: "Routes of the main table.",
        subcommands: [List.self, Add.self, Del.self])

    struct RouteArguments: ParsableArguments {
        @Argument(help: "NETWORK/LENGTH or default") var destination: String
        @Option(help: "Gateway address.") var via: String?
        @Option(help: "Output interface.") var dev: String?

        /// The destination and gateway. `add` needs a gateway or a device to send to; `del`,
        /// like `ip route del`, deletes the first route to the destination when neither is
        /// given (`default` alone is IPv4's, `--ipv6` makes it IPv6's, as `ip -6`).
        func parsed(adding: Bool, ipv6: Bool = false) throws -> (IPPrefix?, IPAddress?) {
            var target = destination == "default" ? nil : try parsePrefix(destination)
            let gateway = try via.map { text -> IPAddress in
                guard let address = IPAddress(text) else {
                    throw ValidationError("\(text): not an address")
                }
                return address
            }
            if gateway == nil && dev == nil {
                guard !adding else { throw ValidationError("a route needs --via or --dev") }
            }
            if target == nil && gateway == nil { target = IPPrefix(ipv6 ? "::/0" : "0.0.0.0/0") }
            return (target, gateway)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "ip route show; ip -6 route show")
        @OptionGroup var netns: NamespaceOption
        func run() throws {
            let handle = try NetlinkHandle(namespace: netns.namespace)
            let names = Dictionary(
                try handle.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
            for route in try handle.routes() {
                var line = route.destination.map { "\($0.network)" } ?? "default"
                if let gateway = route.gateway { line += " via \(gateway)" }
                if let index = route.linkIndex { line += " dev \(names[index] ?? "\(index)")" }
                if route.isKernelRoute { line += " proto kernel" }
                print(line)
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "ip route add DEST [via GW] [dev NAME]")
        @OptionGroup var netns: NamespaceOption
        @OptionGroup var route: RouteArguments
        func run() throws {
            let (destination, gateway) = try route.parsed(adding: true)
            try speakingMLab(
                "route add \(route.destination)", namespace: netns.namespace, device: route.dev
            ) {
                try NetlinkHandle(namespace: netns.namespace).addRoute(
                    destination, via: gateway, device: route.dev)
            }
        }
    }

    struct Del: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "del",
            abstract: "ip route del DEST [via GW] [dev NAME]",
            discussion:
                "Without --via and --dev, deletes the first route to DEST, as ip route del does.")
        @OptionGroup var netns: NamespaceOption
        @OptionGroup var route: RouteArguments
        @Flag(name: .customLong("ipv6"), help: "With default alone: the IPv6 default route.")
        var ipv6 = false
        func run() throws {
            let (destination, gateway) = try route.parsed(adding: false, ipv6: ipv6)
            try speakingMLab(
                "route del \(route.destination)", namespace: netns.namespace, device: route.dev
            ) {
                try NetlinkHandle(namespace: netns.namespace).deleteRoute(
                    destination, via: gateway, device: route.dev)
            }
        }
    }
}

/// `mlab bridge ports BRIDGE`, as `bridge link`.
struct BridgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge", abstract: "What is plugged into a bridge.", subcommands: [Ports.self]
    )

    struct Ports: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ports",
            abstract: "bridge link show master BRIDGE")
        @OptionGroup var netns: NamespaceOption
        @Argument var bridge: String
        func run() throws {
            for port in try NetlinkHandle(namespace: netns.namespace).bridgePorts(bridge) {
                print("\(port.index): \(port.name) \(port.isUp ? "UP" : "DOWN") master \(bridge)")
            }
        }
    }
}
