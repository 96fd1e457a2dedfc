import ArgumentParser
import Namespaces
import Netlink

/// `mlab netns add|del|list|exec|forward`, as `ip netns`.
struct NetnsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netns",
        abstract: "Named network namespaces, shared with iproute2 (/run/netns).",
        subcommands: [Add.self, Del.self, List.self, Exec.self, Forward.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Create a namespace (ip netns add NAME).")
        @Argument var name: String
        func run() throws { try NetworkNamespace.add(name) }
    }

    struct Del: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "del",
            abstract: "Delete a namespace (ip netns del NAME).")
        @Argument var name: String
        func run() throws { try NetworkNamespace.delete(name) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List namespaces (ip netns list).")
        func run() throws { for name in try NetworkNamespace.list() { print(name) } }
    }

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command inside a namespace (ip netns exec NAME CMD…).",
            discussion:
                "Own mount namespace, /sys remounted, /etc/netns/NAME/* bound over /etc. Exits with the command's status."
        )
        @Argument var name: String
        @Argument(parsing: .captureForPassthrough) var command: [String]

        func run() throws {
            let arguments = command.first == "--" ? Array(command.dropFirst()) : command
            guard !arguments.isEmpty else {
                throw ValidationError("usage: mlab netns exec NAME -- CMD [ARG…]")
            }
            let status = try NetworkNamespace.exec(name, arguments: arguments)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forward",
            abstract:
                "Show or set IPv4+IPv6 forwarding of a namespace, or of the host (sysctl net.ipv4.ip_forward …)."
        )
        @Argument(help: "A namespace, or host for the initial one (mlab's own).") var name: String
        @Argument(help: "on or off (omit to show)") var value: String?

        func run() throws {
            // "host" cannot be a lab's namespace name: it always means the initial namespace.
            let name: String? = name == "host" ? nil : name
            guard let value else {
                let current = try NetworkNamespace.forwarding(in: name)
                print("ipv4 \(current.ipv4 ? "on" : "off") ipv6 \(current.ipv6 ? "on" : "off")")
                return
            }
            guard value == "on" || value == "off" else {
                throw ValidationError("forwarding is on or off")
            }
            try NetworkNamespace.setForwarding(
                Forwarding(ipv4: value == "on", ipv6: value == "on"), in: name)
        }
    }
}
