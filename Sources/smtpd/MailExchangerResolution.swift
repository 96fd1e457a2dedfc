import DNSClient
import MailQueue
import SMTPServer

/// MX relaying's next hops from the DNS: the resolv.conf that applies in smtpd's namespace
/// (`/etc/netns/NAME/resolv.conf` under `-N NAME`, as `ip netns exec` binds it), read again
/// for every lookup as glibc does after a change, so a lab that writes it after smtpd started
/// is seen. smtpd is inside its namespace already: the sockets need no namespace hop.
struct MailExchangerResolution: MailExchangerLookup {
    /// The `-N` namespace, whose resolv.conf applies; nil: /etc/resolv.conf.
    var namespace: String?
    var log: LogSink

    func mailExchangers(for domain: String) throws(MailExchangerError) -> [MailExchanger] {
        let path = ResolverConfiguration.path(forNamespace: namespace)
        let configuration: ResolverConfiguration
        do {
            let (loaded, diagnostics) = try ResolverConfiguration.load(path)
            for diagnostic in diagnostics { log.write("warn: \(diagnostic)") }
            configuration = loaded
        } catch {
            throw MailExchangerError(isPermanent: false, reason: "\(path): \(error)")
        }
        do {
            return try DNSResolver(configuration: configuration).mailExchangers(for: domain).map {
                MailExchanger(preference: $0.preference, host: $0.host, addresses: $0.addresses)
            }
        } catch {
            throw MailExchangerError(isPermanent: error.isPermanent, reason: error.description)
        }
    }
}
