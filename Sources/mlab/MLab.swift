import ArgumentParser
import Glibc
import MailLabVersion

/// `mlab`: the lab kit's command line. One file per verb group; each is a thin layer over
/// the Netlink and Lab libraries. The root is synchronous on purpose: an async root starts the
/// concurrency runtime's threads in every run, and a lab verb must start as fast as `ip`.
@main
struct MLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlab",
        abstract: "MailLab's lab kit: namespaces, labs, netcat, SMTP chats, Maildir inspection.",
        version: MailLabVersion.banner(of: "mlab"),
        subcommands: [
            NetnsCommand.self, LabCommand.self, LinkCommand.self, AddrCommand.self,
            RouteCommand.self,
            BridgeCommand.self, MaildirCommand.self,
            NcCommand.self, ChatCommand.self, SendCommand.self, PingCommand.self, MXCommand.self,
            DHCPCommand.self,
        ])

    /// ArgumentParser's main, with the privilege check between parsing and running (after
    /// parsing, so that `--help` and usage errors work for everyone).
    static func main() {
        do {
            var command = try parseAsRoot()
            if let verb = command as? any PrivilegedVerb, verb.needsPrivileges,
                !Privileges.sufficient
            {
                printToStandardError(Privileges.message)
                Glibc.exit(1)
            }
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// `-n NAME`: the namespace a low-level verb works in (default: the host's).
struct NamespaceOption: ParsableArguments {
    @Option(
        name: [.customShort("n"), .customLong("netns")],
        help: "Namespace to work in (default, or host: the host's).")
    var name: String?

    /// The namespace named, nil for the host (`-n host` is the host, as in lab files).
    var namespace: String? { name == "host" ? nil : name }
}
