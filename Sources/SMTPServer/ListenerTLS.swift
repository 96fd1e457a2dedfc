import Reactor
import SMTPConfig
import SMTPProtocol

/// What a listener offers: STARTTLS (optional or required) or SMTPS, with its loaded
/// certificate and key.
struct ListenerTLS: Sendable {
    var mode: TLSMode
    var context: TLSContext

    /// The session's view: what EHLO advertises and whether MAIL needs TLS first.
    func apply(to configuration: inout SessionConfiguration) {
        switch mode {
        case .none: break
        case .starttls: configuration.tlsOffer = .starttls
        case .required: configuration.tlsOffer = .required
        case .smtps: configuration.implicitTLS = true
        }
    }

    /// The listener's `pki NAME` (the first, as OpenSMTPD without SNI), else the pki named
    /// like the listener's server name, as OpenSMTPD's `config_listener` falls back to;
    /// cert and key loaded now so `smtpd -n` reports a missing file as `FILE:LINE:`.
    static func load(
        _ directive: ListenDirective, serverName: String, configuration: SMTPConfiguration
    ) throws(ServerError) -> ListenerTLS? {
        guard directive.tls != .none else { return nil }
        let listenLocation = directive.location.description
        let name = directive.pkis.first ?? serverName.lowercased()
        guard let pki = configuration.pkis[name.lowercased()] else {
            throw ServerError(
                "listen on \(directive.target): \(directive.tls.keyword) needs a pki: add "
                    + "\"pki NAME\" to the listener or declare \"pki \(name) cert … key …\"",
                location: listenLocation)
        }
        let location = pki.location.description
        guard let certificate = pki.certificate else {
            throw ServerError(
                "pki \(name): no certificate (pki \(name) cert \"FILE\")", location: location)
        }
        guard let key = pki.key else {
            throw ServerError("pki \(name): no key (pki \(name) key \"FILE\")", location: location)
        }
        let ciphers = directive.ciphers ?? configuration.ciphers
        do {
            let context = try TLSContext(
                certificateChain: certificate, privateKey: key, ciphers: ciphers,
                protocols: directive.protocols)
            return ListenerTLS(mode: directive.tls, context: context)
        } catch {
            throw ServerError("pki \(name): \(error)", location: location)
        }
    }
}

extension TLSMode {
    /// The smtpd.conf word.
    var keyword: String {
        switch self {
        case .none: "plain"
        case .starttls: "tls"
        case .required: "tls-require"
        case .smtps: "smtps"
        }
    }
}
