import LinuxSystem
import MailQueue
import Reactor
import SMTPConfig
import SMTPProtocol

/// What a configuration becomes before anything is bound: each listener's addresses, policy
/// and TLS, the session limits, and the Maildirs whose path the configuration fixes. Every
/// problem is collected (`smtpd -n` reports them all), each with its `FILE:LINE`.
struct ServerPlan {
    var listeners: [ListenerPlan] = []
    var limits = SessionLimits()
    /// The Maildirs every recipient of some action is delivered to, as the routers resolved
    /// them (their stale tmp/ files are removed before the server accepts anything).
    var fixedMaildirs: [String] = []
    /// Relay action name → where its recipients go (empty: no queue is needed).
    var relayRoutes: [String: RelayRoute] = [:]

    init(_ configuration: SMTPConfiguration, options: MailServer.Options) throws(ServerErrors) {
        let serverName = options.serverName ?? HostNames.serverName()
        let interfaces = interfaceAddresses()
        let identity = LocalIdentity(serverName: serverName, interfaces: interfaces)
        var errors: [ServerError] = []
        var fixed: Set<String> = []
        for (index, directive) in configuration.listeners.enumerated() {
            do throws(ServerErrors) {
                let (plans, router) = try Self.listener(
                    directive, index: index, configuration: configuration, options: options,
                    identity: identity, interfaces: interfaces)
                listeners += plans
                fixed.formUnion(router.fixedPaths.values)
            } catch {
                errors += error.errors
            }
        }
        for action in configuration.actions {
            guard case .relay(let options) = action.method else { continue }
            do throws(ServerError) {
                relayRoutes[action.name] = try Self.relayRoute(
                    options, action: action, configuration: configuration)
            } catch {
                errors.append(error)
            }
        }
        // `user NAME` must name a user now, not at the first RCPT (a userbase table is
        // asked at RCPT, as every recipient of it is).
        for action in configuration.actions where action.userbase == nil {
            guard let name = action.user, options.users.user(named: name) == nil else { continue }
            errors.append(
                ServerError(
                    "action \"\(action.name)\": user \(name): no such user",
                    location: action.location.description))
        }
        if configuration.listeners.isEmpty {
            errors.append(ServerError("no listen directive: nothing to listen on"))
        }
        for setting in Self.settingsNotCarriedOut(configuration) {
            options.log.write("warn: \(setting) is accepted but not carried out by MailLab")
        }
        // A table used by two listeners (or by a listener's auth and a rule) is read once per
        // use: say each problem once.
        var said: Set<String> = []
        errors = errors.filter { said.insert($0.description).inserted }
        guard errors.isEmpty else { throw ServerErrors(errors: errors) }
        fixed.remove(MaildirStore.discardPath)
        fixedMaildirs = fixed.sorted()
        limits.maxRecipients = configuration.maxRecipients
        limits.maxMessagesPerSession = configuration.maxMailsPerSession
        limits.maxMessageSize = configuration.maxMessageSize
    }

    /// Settings OpenSMTPD configurations carry that MailLab parses (so that they load) but does
    /// not act on; each is said at start and by `smtpd -n`, never silently dropped.
    static func settingsNotCarriedOut(_ configuration: SMTPConfiguration) -> [String] {
        var settings: [String] = []
        if configuration.queue.compression { settings.append("queue compression") }
        if configuration.queue.encryption {
            settings.append("queue encryption (the spool is not encrypted)")
        }
        // OpenSMTPD keeps the first four (MAX_BOUNCE_WARN) and drops the rest unsaid.
        if configuration.queue.bounceWarnIntervals.count > 4 {
            settings.append("bounce warn-interval beyond its fourth duration")
        }
        if configuration.srsKey != nil { settings.append("srs key") }
        if configuration.admd != nil { settings.append("admd") }
        if !configuration.mdaWrappers.isEmpty { settings.append("mda wrapper") }
        // A filter only adds checks (rspamd and the like): mail flows without it.
        for listener in configuration.listeners {
            if let filter = listener.filter {
                settings.append(
                    "listen on \(listener.target) filter \"\(filter)\" (no filters run)")
            }
        }
        for (name, pki) in configuration.pkis.sorted(by: { $0.key < $1.key }) where pki.dhe != nil {
            settings.append("pki \(name) dhe")
        }
        return settings
    }

    /// What the queue does for one relay action. `filter` and `srs` are refused here (and
    /// so by `smtpd -n`), not silently ignored: MailLab has no filters and no SRS key.
    static func relayRoute(
        _ options: RelayOptions, action: ActionDirective,
        configuration: SMTPConfiguration = SMTPConfiguration()
    ) throws(ServerError) -> RelayRoute {
        let place = action.location.description
        func refuse(_ text: String) -> ServerError {
            ServerError("action \"\(action.name)\": relay \(text)", location: place)
        }
        var unsupported: [String] = []
        if options.filter != nil { unsupported.append("filter") }
        if options.srs { unsupported.append("srs") }
        guard unsupported.isEmpty else {
            throw refuse("\(unsupported.joined(separator: ", ")) not supported by MailLab")
        }
        // As OpenSMTPD's parse.y.
        if options.backup && options.host != nil {
            throw refuse("backup and host are mutually exclusive")
        }
        if options.backup && options.domain != nil {
            throw refuse("backup and domain are mutually exclusive")
        }
        if options.host != nil && options.domain != nil {
            throw refuse("host and domain are mutually exclusive")
        }
        /// A URL's scheme as a session policy; `tls` (with or without verification) makes
        /// an opportunistic one required, as OpenSMTPD's tls_required.
        func hop(_ url: RelayURL) -> RelayHop {
            var tls: RelayClientSession.TLSPolicy
            switch url.scheme {
            case .smtpTLS: tls = .required
            case .smtpNoTLS, .smtps: tls = .never
            case .smtp: tls = .opportunistic
            }
            if options.tls && tls == .opportunistic { tls = .required }
            return RelayHop(host: url.host, port: url.port, tls: tls, smtps: url.scheme == .smtps)
        }
        func url(_ text: String, in what: String) throws(ServerError) -> RelayURL {
            do {
                return try RelayURL(parsing: text)
            } catch {
                throw refuse("\(what): invalid relay URL \"\(text)\": \(error)")
            }
        }
        var nextHop = RelayRoute.NextHop.mailExchangers
        var tls: RelayClientSession.TLSPolicy = options.tls ? .required : .opportunistic
        var smtps = false
        if let single = options.url {
            let one = hop(single)
            nextHop = .host(one.host, port: one.port)
            tls = one.tls
            smtps = one.smtps
        } else if let ref = options.host {
            let table = try relayTable(ref, what: "host", action: action, configuration)
            var hops: [RelayHop] = []
            for text in table.values { hops.append(hop(try url(text, in: "host"))) }
            guard !hops.isEmpty else { throw refuse("host: the table has no relay URL") }
            nextHop = .hosts(hops)
        } else if let ref = options.domain {
            let table = try relayTable(ref, what: "domain", action: action, configuration)
            guard !table.mapping.isEmpty else {
                throw refuse("domain: expected a table of DOMAIN = URL pairs")
            }
            var hops: [String: RelayHop] = [:]
            for (domain, text) in table.mapping {
                hops[domain] = hop(try url(text, in: "domain \(domain)"))
            }
            nextHop = .domains(hops)
        }
        var credentials: RelayClientSession.Credentials?
        if let auth = options.auth {
            // As OpenSMTPD: the URL's label picks the secret, and a secret only goes over TLS.
            guard let label = options.url?.authLabel else {
                throw ServerError(
                    "action \"\(action.name)\": relay auth needs a label in the host URL "
                        + "(smtp+tls://LABEL@host)", location: place)
            }
            guard tls == .required || smtps else {
                throw ServerError(
                    "action \"\(action.name)\": relay auth needs smtp+tls:// or smtps:// "
                        + "(credentials never go over an unencrypted session)", location: place)
            }
            let table = try relayTable(auth, what: "auth", action: action, configuration)
            guard let secret = table.mapping[label.lowercased()],
                let colon = secret.firstIndex(of: ":")
            else {
                throw ServerError(
                    "action \"\(action.name)\": relay auth: no \"USER:PASSWORD\" for label "
                        + "\"\(label)\" in the table", location: place)
            }
            credentials = RelayClientSession.Credentials(
                user: String(secret[..<colon]),
                password: String(secret[secret.index(after: colon)...]))
        }
        var source: String?
        if let ref = options.source {
            let table = try relayTable(ref, what: "src", action: action, configuration)
            // XXX: OpenSMTPD takes the source addresses of a table in turn; one is used here.
            guard let first = table.values.first, ipBytes(first) != nil else {
                throw ServerError(
                    "action \"\(action.name)\": relay src: expected an IP address",
                    location: place)
            }
            source = first
        }
        var helo = options.helo
        if let ref = options.heloSource {
            // OpenSMTPD looks the session's source address up in it (K_ADDRNAME); without
            // `src` a session has no source of its own and the table is not used.
            let table = try relayTable(ref, what: "helo-src", action: action, configuration)
            if let source {
                guard let name = table.mapping[source.lowercased()] else {
                    throw refuse("helo-src: no name for the source address \(source) in the table")
                }
                helo = name
            }
        }
        var route = RelayRoute(
            nextHop: nextHop, helo: helo, tls: tls, smtps: smtps, credentials: credentials,
            source: source)
        route.ttl = action.ttl
        route.mailFrom = options.mailFrom
        if let mailFrom = options.mailFrom {
            let parts = mailFrom.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count <= 2, !mailFrom.isEmpty, mailFrom != "@",
                !mailFrom.contains(where: { $0 == "<" || $0 == ">" || $0 == " " })
            else { throw refuse("mail-from: invalid address \"\(mailFrom)\"") }
        }
        if options.backup {
            route.backupName = options.backupMX ?? ""
        }
        var tlsOptions = TLSClientOptions(
            verify: options.tls && options.tlsVerify, ciphers: options.ciphers,
            protocols: options.protocols)
        if let name = options.ca {
            guard let file = configuration.cas[name.lowercased()] else {
                throw refuse("ca \(name): no such ca (declare \"ca \(name) cert FILE\")")
            }
            tlsOptions.caFile = file
        }
        if let name = options.pki {
            guard let pki = configuration.pkis[name.lowercased()],
                let certificate = pki.certificate,
                let key = pki.key
            else {
                throw refuse("pki \(name): no such pki with a certificate and a key")
            }
            tlsOptions.certificateChain = certificate
            tlsOptions.privateKey = key
        }
        if tlsOptions != TLSClientOptions() {
            // Made once here so that `smtpd -n` names a bad file, cipher list or protocol.
            do {
                _ = try TLSContext(client: tlsOptions)
            } catch {
                throw refuse("\(error)")
            }
        }
        route.tlsOptions = tlsOptions
        return route
    }

    /// The table a relay option names (`auth <secrets>`, `src <addresses>` or one inline).
    private static func relayTable(
        _ ref: TableRef, what: String, action: ActionDirective,
        _ configuration: SMTPConfiguration
    ) throws(ServerError) -> LoadedTable {
        try LoadedTable.resolve(
            ref, in: configuration, user: "action \"\(action.name)\": relay \(what)",
            location: action.location.description)
    }

    /// The names and addresses that count as this host for `for local` (per listener, its
    /// own hostname is added).
    struct LocalIdentity {
        var names: Set<String>
        var addresses: Set<String> = []

        init(serverName: String, interfaces: [InterfaceAddress]) {
            names = ["localhost", serverName.lowercased()]
            for entry in interfaces {
                let host = entry.address.host
                addresses.insert(host)
                if entry.address.isIPv6 {
                    names.formUnion(["[\(host)]", "[ipv6:\(host)]"])
                } else {
                    names.formUnion([host, "[\(host)]"])
                }
            }
        }
    }

    /// One `listen on`: its addresses, each with the listener's router and TLS.
    private static func listener(
        _ directive: ListenDirective, index: Int, configuration: SMTPConfiguration,
        options: MailServer.Options, identity: LocalIdentity, interfaces: [InterfaceAddress]
    ) throws(ServerErrors) -> ([ListenerPlan], RecipientRouter) {
        let location = directive.location.description
        if directive.verifyClient || directive.ca != nil {
            throw ServerErrors(
                "listen on \(directive.target): client certificate verification (verify, ca) "
                    + "is not supported by MailLab yet", location: location)
        }
        // Parsed for OpenSMTPD compatibility, not carried out: refused, never ignored.
        var unsupported: [String] = []
        // The bytes after the header would be the TLS handshake, already read by then.
        if directive.proxyV2 && directive.tls == .smtps {
            unsupported.append("proxy-v2 with smtps")
        }
        guard unsupported.isEmpty else {
            throw ServerErrors(
                "listen on \(directive.target): \(unsupported.joined(separator: ", ")) "
                    + "not supported by MailLab yet", location: location)
        }
        var hostnames: LoadedTable?
        if let ref = directive.hostnames {
            do throws(ServerError) {
                hostnames = try LoadedTable.resolve(
                    ref, in: configuration, user: "listen on \(directive.target): hostnames",
                    location: location)
            } catch {
                throw ServerErrors(errors: [error])
            }
        }
        var senders: SenderTable?
        if let ref = directive.senders {
            do throws(ServerError) {
                senders = SenderTable(
                    table: try LoadedTable.resolve(
                        ref, in: configuration, user: "listen on \(directive.target): senders",
                        location: location),
                    subaddressDelimiter: configuration.subaddressDelimiter)
            } catch {
                throw ServerErrors(errors: [error])
            }
        }
        let name = directive.hostname ?? options.serverName ?? HostNames.serverName()
        let tls: ListenerTLS?
        do throws(ServerError) {
            tls = try ListenerTLS.load(directive, serverName: name, configuration: configuration)
        } catch {
            throw ServerErrors(errors: [error])
        }
        let auth: ListenerAuth?
        do throws(ServerError) {
            auth = try ListenerAuth.load(directive, configuration: configuration, log: options.log)
        } catch {
            throw ServerErrors(errors: [
                ServerError(error.message, location: error.location ?? location)
            ])
        }
        var names = identity.names
        names.insert(name.lowercased())
        let environment = RecipientRouter.Environment(
            serverName: name, listenerTag: directive.tag, localNames: names,
            localAddresses: identity.addresses,
            workingDirectory: options.workingDirectory ?? currentDirectory(),
            subaddressDelimiter: configuration.subaddressDelimiter)
        let log = options.log
        let router = try RecipientRouter(
            configuration: configuration, environment: environment, users: options.users,
            warn: { log.write("warn: \($0)") })
        let addresses: [SocketAddress]
        do throws(ServerError) {
            addresses = try resolveListenTarget(directive, interfaces: interfaces)
        } catch {
            throw ServerErrors(errors: [error])
        }
        let plans = addresses.map { address in
            ListenerPlan(
                address: address, serverName: name,
                isLocal: address.host == "127.0.0.1" || address.host == "::1",
                tag: directive.tag,
                policy: router, traceID: String(0x5600_0000_0000 + index * 0x1000, radix: 16),
                tls: tls, auth: auth, smtputf8: !directive.noSMTPUTF8,
                chunking: !directive.noChunking, dsn: !directive.noDSN,
                pipelining: !directive.noPipelining, eightBitMIME: !directive.no8BitMIME,
                maskSource: directive.maskSource, receivedAuth: directive.receivedAuth,
                senders: senders, masquerade: directive.masquerade, hostnames: hostnames,
                proxyV2: directive.proxyV2)
        }
        return (plans, router)
    }
}

extension ServerErrors {
    init(_ message: String, location: String? = nil) {
        self.init(errors: [ServerError(message, location: location)])
    }
}
