import ArgumentParser
import DNSClient
import Glibc
import Lab
import LinuxSystem

/// `mlab mx -n NS DOMAIN`: the next hops of mail to DOMAIN as smtpd's relay finds them in
/// namespace NS (MX by preference, else the domain's addresses), asked of the name servers of
/// NS's own resolv.conf.
struct MXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mx",
        abstract: "Show the mail exchangers of a domain as the relay would use them.",
        discussion: """
            Asks the name servers of /etc/netns/NS/resolv.conf (what a lab's resolv statement \
            writes) from inside namespace NS: the domain's MX records, lowest preference first \
            (random among equals), each with its addresses; without MX records the domain \
            itself (RFC 5321 5.1). A namespace without a resolv.conf of its own is refused: \
            mlab never asks a name server the lab did not set up. Exit status 0 with an \
            answer, 1 for a permanent failure (no such domain, null MX, no address), 75 \
            (EX_TEMPFAIL) for a temporary one (SERVFAIL, no answer).
            """)

    @OptionGroup var netns: NamespaceOption
    @Argument(help: "The mail domain (or an address literal such as [10.0.0.2]).")
    var domain: String

    func validate() throws {
        guard netns.namespace != nil else {
            throw ValidationError(
                "give -n NS: mlab mx only asks the name servers of a lab namespace")
        }
    }

    func run() throws {
        let namespace = netns.namespace!
        let resolver = try speakingMLab("mx \(domain)", namespace: namespace) {
            () throws -> DNSResolver in
            let path = LabResolver.path(of: namespace)
            guard ResolverConfiguration.path(forNamespace: namespace) == path else {
                // Else the host's /etc/resolv.conf would be asked from inside the lab.
                writeToDescriptor(
                    2,
                    Array(
                        "mlab mx \(domain): namespace \(namespace) has no \(path) (a lab's resolv statement writes it)\n"
                            .utf8))
                throw ExitCode(1)
            }
            let (resolver, diagnostics) = try DNSResolver.forNamespace(namespace)
            for diagnostic in diagnostics {
                writeToDescriptor(2, Array("mlab mx: \(diagnostic)\n".utf8))
            }
            return resolver
        }
        let servers = resolver.configuration.nameservers.map(\.host).joined(separator: ", ")
        do {
            let exchangers = try resolver.mailExchangers(for: domain)
            writeToStandardOutput(
                "\(domain): \(exchangers.count) exchanger\(exchangers.count == 1 ? "" : "s") (asked \(servers) from \(namespace))\n"
            )
            for exchanger in exchangers {
                writeToStandardOutput(
                    "\(exchanger.preference) \(exchanger.host) \(exchanger.addresses.joined(separator: " "))\n"
                )
            }
        } catch {
            writeToDescriptor(
                2,
                Array(
                    "mlab mx \(domain): \(error.isPermanent ? "permanent" : "temporary") failure: \(error) (asked \(servers) from \(namespace))\n"
                        .utf8))
            throw ExitCode(error.isPermanent ? 1 : 75)
        }
    }
}

extension MXCommand: PrivilegedVerb {}
