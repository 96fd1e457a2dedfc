import ArgumentParser

/// `mlab`: the lab kit's command line. One file per verb group; each is a thin layer over
/// the Netlink and Lab libraries. The root is synchronous on purpose: an async root starts the
/// concurrency runtime's threads in every run, and a lab verb must start as fast as `ip`.
@main
struct MLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlab",
        abstract: "MailLab's lab kit: namespaces, labs, netcat, SMTP chats, Maildir inspection.",
        subcommands: [
            NetnsCommand.self, LabCommand.self, LinkCommand.self, AddrCommand.self,
            RouteCommand.self,
            BridgeCommand.self, MaildirCommand.self,
            NcCommand.self, ChatCommand.self, SendCommand.self,
        ])
}

/// `-n NAME`: the namespace a low-level verb works in (default: the host's).
struct NamespaceOption: ParsableArguments {
    @Option(
        name: [.customShort("n"), .customLong("netns")],
        help: "Namespace to work in (default: the host's).")
    var namespace: String?
}
