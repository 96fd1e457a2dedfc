import Glibc
import LinuxSystem
import MailQueue
import MaildirDelivery
import Reactor
import SMTPConfig
import SMTPProtocol
import Synchronization

/// An SMTP server you can embed: start it on port 0, learn its address, send to it, await
/// the messages, stop it — what GreenMail or aiosmtpd's Controller give their users.
///
/// ```swift
/// let server = try MailServer.catchAll(maildir: "/tmp/box")
/// try server.start()
/// // … send to server.addresses[0] …
/// let message = try await server.nextMessage()
/// server.stop()
/// ```
public final class MailServer: Sendable {
    /// How the server runs; every field has the production default.
    public struct Options: Sendable {
        /// Event loops, one thread each (default: one per two cores, at least one). The other
        /// half is for what serves a loop's sessions: the kernel's network and file system
        /// work, the Maildir writer and flush threads, and often the clients themselves: on 2
        /// cores one loop was faster and cheaper per message than two (BENCHMARKS.md,
        /// "Second round", step 4).
        public var loops = max(1, processorCount() / 2)
        /// Idle time after which a session gets `421 4.4.2` and is closed
        /// (RFC 5321 §4.5.3.2.7: at least 5 minutes).
        public var idleTimeoutSeconds: Double = 300
        /// At most this many sessions; nil: as many as the descriptor limit allows.
        public var maxSessions: Int?
        /// At most this many sessions from one address; nil: no limit.
        public var maxSessionsPerAddress: Int?
        /// Deadlines no byte from the client moves (`smtp timeout …`).
        public var timeouts = SMTPTimeouts()
        /// Trace the dialogue (`-T smtp`).
        public var trace = false
        /// Keep delivered messages for `messages` and `nextMessage` (bounded). A standalone
        /// server (`smtpd`) has no reader for them and turns this off.
        public var recordsMessages = true
        /// Log `debug:` lines about listeners, limits and recipient decisions (`-v`).
        public var verbose = false
        public var log: LogSink = .none
        /// The name in banners and Received headers when a listener sets none
        /// (default: /etc/mailname, else the host name).
        public var serverName: String?
        public var flushMode: FlushMode = .syncfs
        public var environment: SessionEnvironment = .server
        public var users: any UserDatabase = SystemUsers()
        /// Relative maildir paths are relative to this (default: the current directory).
        public var workingDirectory: String?
        /// Keep messages in memory only instead of writing the Maildirs (no durability).
        public var inMemory = false
        /// TLS for the `catchAll`/`inMemory` listener (configured servers take theirs from
        /// `pki` and `listen … tls|tls-require|smtps`).
        public var tls: TLSSetting?
        /// AUTH for the `catchAll`/`inMemory` listener (configured servers take theirs from
        /// `listen … auth|auth-optional`). nil: not offered.
        public var authentication: AuthenticationSetting?
        /// SMTPUTF8 on the `catchAll`/`inMemory` listener (configured servers: on unless
        /// `listen … no-smtputf8`).
        public var smtputf8 = true
        /// CHUNKING/BINARYMIME (BDAT) on the `catchAll`/`inMemory` listener (configured
        /// servers: on unless `listen … no-chunking`).
        public var chunking = true
        /// The most a failed AUTH waits before its 535, a random share of it each time:
        /// OpenSMTPD's timing-attack protection (`smtp_auth_failure_pause`, up to 1 s).
        public var authFailureDelaySeconds: Double = 1
        /// MailLab fault injection: rules that make sessions fail on purpose (docs/FAULTS.md).
        /// nil: none. A configured server takes its `fault …` statements instead.
        public var faults: FaultPlan?
        /// Finds the next hops of `action NAME relay` without `host` (MX relaying). nil:
        /// such recipients wait in the queue with a temporary failure.
        public var mailExchangers: (any MailExchangerLookup)?
        /// Seconds the relay waits for each reply of a next hop (and for a connection).
        public var relayTimeoutSeconds: Double = 300
        /// A byte-exact transcript of every session, one file each in a directory
        /// (docs/TRANSCRIPTS.md); smtpd.conf's `transcript directory` sets it. nil: none.
        public var transcripts: TranscriptSettings?
        /// smtpd's network side (the child of the process split, docs/PRIVILEGES.md): the
        /// sockets its root parent bound and the socket pair to the parent's delivery side.
        /// nil (everything else, the embedding API included): one process, as before.
        public var networkSide: NetworkSide?
        public init() {}
    }

    /// The default spool directory of the relay queue (`queue directory` changes it).
    public static let defaultQueueDirectory = "/var/spool/maillab"

    /// The spool when the configuration names none: `defaultQueueDirectory/NAME` inside the
    /// named network namespace NAME (`ip netns` / `mlab`), so that the servers of a lab each
    /// get their own without a word in their files and find it again after a restart;
    /// `defaultQueueDirectory` itself elsewhere. Two relaying servers in one namespace still
    /// need `queue directory` (the second is refused: the spool is locked).
    static func defaultQueueDirectoryHere() -> String {
        guard let own = try? FileSystem.status("/proc/thread-self/ns/net"),
            let names = try? FileSystem.directoryEntries("/run/netns")
        else { return defaultQueueDirectory }
        for name in names.sorted() {
            guard let info = try? FileSystem.status("/run/netns/" + name) else { continue }
            if info.st_dev == own.st_dev && info.st_ino == own.st_ino {
                return defaultQueueDirectory + "/" + name
            }
        }
        return defaultQueueDirectory
    }

    /// The relay queue and the pieces that feed it.
    private struct RelayParts {
        var queue: RelayQueue
        var intake: RelayIntake
        var bounces: BounceRouter
    }

    /// AUTH on the `catchAll`/`inMemory` listener.
    public struct AuthenticationSetting: Sendable {
        /// `.optional` (AUTH offered, MAIL allowed without it) or `.required`.
        public var offer: AuthOffer
        /// Offer AUTH before TLS too (MailLab `auth-plaintext`); without TLS it must be true
        /// for AUTH to be offered at all.
        public var withoutTLS: Bool
        public var checker: any CredentialChecker

        public init(
            offer: AuthOffer = .optional, withoutTLS: Bool = true,
            checker: any CredentialChecker
        ) {
            self.offer = offer
            self.withoutTLS = withoutTLS
            self.checker = checker
        }

        /// The test-server mode (MailLab `auth-accept-any`): every user name and password is
        /// accepted, and the name is recorded in `DeliveredMessage.authenticatedUser`.
        public static func acceptAny(offer: AuthOffer = .optional, withoutTLS: Bool = true)
            -> AuthenticationSetting
        {
            AuthenticationSetting(offer: offer, withoutTLS: withoutTLS, checker: AnyCredentials())
        }
    }

    /// A certificate and key for a listener, and how TLS is offered there.
    public struct TLSSetting: Sendable {
        /// PEM certificate chain, leaf first.
        public var certificate: String
        /// PEM private key.
        public var key: String
        /// `.starttls` (default), `.required` (MAIL needs STARTTLS first) or `.smtps`.
        public var mode: TLSMode
        /// OpenSSL cipher string for TLS ≤ 1.2 (`smtp ciphers`).
        public var ciphers: String?

        public init(
            certificate: String, key: String, mode: TLSMode = .starttls, ciphers: String? = nil
        ) {
            self.certificate = certificate
            self.key = key
            self.mode = mode
            self.ciphers = ciphers
        }
    }

    private let plans: [ListenerPlan]
    private let options: Options
    private let core: ServerCore
    private let group: EventLoopGroup
    private let listeners = Mutex<[Listener]>([])
    private let stopped = Atomic<Bool>(false)
    /// Maildirs whose path is fixed by the configuration: their stale tmp/ files are removed
    /// before the server accepts anything.
    private let fixedMaildirs: [String]

    /// A server for `configuration`. Resolves listeners and tables now; binds in `start`.
    public convenience init(configuration: SMTPConfiguration, options: Options = Options())
        throws(ServerErrors)
    {
        var plan = try ServerPlan(configuration, options: options)
        // A configured server takes its `smtp timeout …` and `smtp limit …` from the file.
        var options = options
        options.timeouts = configuration.timeouts
        options.maxSessions = configuration.maxSessions ?? options.maxSessions
        options.maxSessionsPerAddress =
            configuration.maxSessionsPerAddress ?? options.maxSessionsPerAddress
        options.faults = Self.faultPlan(configuration)
        options.transcripts = configuration.transcripts ?? options.transcripts
        var fixed = plan.fixedMaildirs
        guard let side = options.networkSide else {
            let relay = try Self.relayParts(plan, configuration: configuration, options: options)
            if let relay { fixed.append(relay.queue.spoolRoot) }
            try self.init(
                plans: plan.listeners, options: options, limits: plan.limits,
                fixedMaildirs: fixed, relay: relay)
            return
        }
        // The network side: everything read as root is read by now (TLS keys, tables); the
        // drop comes before any thread starts.
        if let reason = DeliverySide.reasonForOneProcess(configuration, plan: plan) {
            throw ServerErrors(errors: [ServerError("network side: \(reason)")])
        }
        guard side.listeners.count == plan.listeners.count else {
            throw ServerErrors(errors: [
                ServerError(
                    "network side: \(side.listeners.count) listening sockets for "
                        + "\(plan.listeners.count) listeners (the configuration changed?)")
            ])
        }
        let log = options.log
        let faults = FaultTarget()
        let client = SplitClient(
            socket: side.store, log: { log.write($0) }, faults: { faults.apply($0) },
            lost: side.lost)
        for index in plan.listeners.indices
        where plan.listeners[index].auth?.checker is SystemCredentials {
            plan.listeners[index].auth?.checker = RemoteCredentials(client: client)
        }
        // The queue is the network side's (docs/PRIVILEGES.md): its spool through the folder
        // the parent opened, its next hops' TLS keys read now.
        var relaying: (spool: Int32, directory: String, contexts: [String: TLSContext])?
        if !plan.relayRoutes.isEmpty && !options.inMemory {
            guard let spool = side.spool else {
                throw ServerErrors(errors: [ServerError("network side: no spool folder given")])
            }
            let directory = Self.spoolDirectory(configuration, options: options)
            let log = options.log
            relaying = (
                spool, directory,
                RelayQueue.clientContexts(plan.relayRoutes, log: { log.write($0) })
            )
            fixed.append(directory)
        }
        if options.environment.freeStorage == nil && !fixed.isEmpty {
            let storage = OpenedStorage(roots: fixed)
            options.environment.freeStorage = { storage.available() }
        }
        do {
            try ProcessPrivileges.drop(to: side.user)
        } catch {
            throw ServerErrors(errors: [ServerError("network side: \(error)")])
        }
        var store: any MessageStore = RemoteStore(client: client)
        var relay: RelayParts?
        if let relaying {
            MaildirAnchors.register(root: relaying.directory, descriptor: relaying.spool)
            relay = try Self.relayParts(
                plan, configuration: configuration, options: options, spool: relaying.spool,
                tlsContexts: relaying.contexts)
            if let relay {
                store = RelayingStore(
                    local: store, relay: relay.intake,
                    writer: MaildirWriter(
                        hostname: hostNameForFiles(), flushMode: options.flushMode))
            }
        }
        try self.init(
            plans: plan.listeners, options: options, limits: plan.limits, fixedMaildirs: fixed,
            relay: relay, store: store, split: client)
        faults.core.withLock { $0 = core }
    }

    /// The queue of a configuration with relay actions (nil without): the spool opened and
    /// locked, its messages read back.
    private static func relayParts(
        _ plan: ServerPlan, configuration: SMTPConfiguration, options: Options,
        spool: Int32? = nil, tlsContexts: [String: TLSContext]? = nil
    ) throws(ServerErrors) -> RelayParts? {
        // An in-memory server stores nothing, relayed recipients included: no spool.
        guard !plan.relayRoutes.isEmpty, !options.inMemory else { return nil }
        let directory = spoolDirectory(configuration, options: options)
        if spool == nil && geteuid() == 0 {
            try reclaimSpool(directory)
        }
        // Before the queue reads the spool: a message whose 250 was given while its file was
        // only in tmp/ (whole, flushed) is moved into new/ first, and resumed with the rest.
        sweepTemporaryFiles(of: [directory], log: options.log)
        let serverName =
            options.serverName ?? plan.listeners.first?.serverName ?? HostNames.serverName()
        var settings = RelayQueue.Configuration(
            spool: directory, routes: plan.relayRoutes, serverName: serverName)
        settings.spoolDescriptor = spool
        settings.tlsContexts = tlsContexts
        settings.retryMin = configuration.queue.retryMin
        settings.retryMax = configuration.queue.retryMax
        settings.maxDeferred = configuration.mtaMaxDeferred ?? 100
        settings.bounceWarnIntervals = Array(configuration.queue.bounceWarnIntervals.prefix(4))
        settings.exchangers = options.mailExchangers
        settings.connectTimeout = options.relayTimeoutSeconds
        settings.replyTimeout = options.relayTimeoutSeconds
        // An exchanger that is this server: skipped with the ones after it (no loop). Its
        // listening addresses follow once bound (`setLocalEndpoints`).
        settings.localNames = Set([serverName] + plan.listeners.map(\.serverName))

        let log = options.log
        settings.log = { log.write($0) }
        let bounces = BounceRouter(log: log)
        do {
            let queue = try RelayQueue(settings) { recipient, content, done in
                bounces.submit(to: recipient, content: content, done: done)
            }
            return RelayParts(
                queue: queue,
                intake: RelayIntake(queue: queue, ttl: configuration.queue.ttl),
                bounces: bounces)
        } catch {
            let hint = error.errno == EWOULDBLOCK ? " (another smtpd uses this queue)" : ""
            throw ServerErrors(errors: [
                ServerError("queue directory \(directory): \(error)\(hint)")
            ])
        }
    }

    /// The relay queue's spool for `configuration` (absolute): `queue directory`, else the
    /// default for this network namespace.
    public static func spoolDirectory(_ configuration: SMTPConfiguration, options: Options)
        -> String
    {
        let directory = configuration.queue.directory ?? defaultQueueDirectoryHere()
        if directory.hasPrefix("/") { return directory }
        return (options.workingDirectory ?? currentDirectory()) + "/" + directory
    }

    /// Whether `directory` is the default spool outside a lab's namespace: the parent of
    /// the namespaces' own spools too.
    static func holdsNamespaceSpools(_ directory: String) -> Bool {
        Maildir(root: directory).root == defaultQueueDirectory
    }

    /// A root smtpd in one process takes back a spool that a split smtpd's network side ran
    /// (its `new/` is `_maillab`'s).
    private static func reclaimSpool(_ directory: String) throws(ServerErrors) {
        guard let found = try? FileSystem.linkStatus(directory + "/new"), found.st_uid != 0
        else { return }
        let network = try? UnprivilegedUser.lookUp()
        guard let network, found.st_uid == network.user else { return }
        do {
            closeDescriptor(
                try QueueSpool.prepare(
                    root: directory, owner: 0, group: 0, trusted: [network.user],
                    nested: holdsNamespaceSpools(directory)))
        } catch {
            throw ServerErrors(errors: [ServerError("queue directory \(directory): \(error)")])
        }
    }

    /// The `fault …` statements of `configuration` as a plan (nil without any); without
    /// `fault seed`, a random seed, which `start` logs so that the run can be repeated.
    public static func faultPlan(_ configuration: SMTPConfiguration) -> FaultPlan? {
        guard !configuration.faults.isEmpty else { return nil }
        return FaultPlan(
            rules: configuration.faults, seed: configuration.faultSeed ?? RandomPool.shared.next())
    }

    /// Sessions that begin from now on get `plan` (nil: no faults); running sessions keep
    /// theirs. What `smtpd` does on SIGHUP with the file's `fault …` statements.
    public func replaceFaults(_ plan: FaultPlan?) {
        core.replaceFaults(plan)
    }

    /// Checks what `init(configuration:)` would check (listen targets against this network
    /// namespace's interfaces, tables, unsupported options) without starting anything: for
    /// `smtpd -n`.
    public static func validate(_ configuration: SMTPConfiguration, options: Options = Options())
        -> [ServerError]
    {
        do {
            _ = try ServerPlan(configuration, options: options)
            return []
        } catch {
            return error.errors
        }
    }

    /// A server on 127.0.0.1:`port` (0: any free port) that accepts every recipient and
    /// writes every message to the Maildir at `maildir`.
    public static func catchAll(maildir: String, port: UInt16 = 0, options: Options = Options())
        throws(ServerErrors) -> MailServer
    {
        let root =
            maildir.hasPrefix("/")
            ? maildir : (options.workingDirectory ?? currentDirectory()) + "/" + maildir
        return try MailServer(
            plans: [try catchAllPlan(port: port, mailbox: root, options: options)],
            options: options, limits: SessionLimits(), fixedMaildirs: [root])
    }

    /// A server on 127.0.0.1:`port` that accepts every recipient and keeps messages in
    /// memory only (`messages`, `nextMessage`).
    public static func inMemory(port: UInt16 = 0, options: Options = Options()) throws(ServerErrors)
        -> MailServer
    {
        var options = options
        options.inMemory = true
        return try MailServer(
            plans: [try catchAllPlan(port: port, mailbox: "", options: options)],
            options: options, limits: SessionLimits(), fixedMaildirs: [])
    }

    private static func catchAllPlan(port: UInt16, mailbox: String, options: Options)
        throws(ServerErrors) -> ListenerPlan
    {
        var tls: ListenerTLS?
        if let setting = options.tls, setting.mode != .none {
            do {
                tls = ListenerTLS(
                    mode: setting.mode,
                    context: try TLSContext(
                        certificateChain: setting.certificate, privateKey: setting.key,
                        ciphers: setting.ciphers))
            } catch {
                throw ServerErrors(errors: [ServerError("\(error)")])
            }
        }
        return ListenerPlan(
            address: .v4(host: "127.0.0.1", port: port),
            serverName: options.serverName ?? HostNames.serverName(), isLocal: true, tag: nil,
            policy: CatchAllPolicy(mailbox: mailbox), traceID: "560000000000", tls: tls,
            auth: options.authentication.map {
                ListenerAuth(offer: $0.offer, withoutTLS: $0.withoutTLS, checker: $0.checker)
            }, smtputf8: options.smtputf8, chunking: options.chunking)
    }

    private let limits: SessionLimits

    private let relay: RelayParts?
    /// The network side's connection to the delivery side; nil in one process.
    private let split: SplitClient?

    private init(
        plans: [ListenerPlan], options: Options, limits: SessionLimits, fixedMaildirs: [String],
        relay: RelayParts? = nil, store: (any MessageStore)? = nil, split: SplitClient? = nil
    )
        throws(ServerErrors)
    {
        self.relay = relay
        self.split = split
        self.plans = plans
        var options = options
        if !options.inMemory && !fixedMaildirs.isEmpty && options.environment.freeStorage == nil {
            options.environment.freeStorage = { StorageSpace.available(in: fixedMaildirs) }
        }
        self.options = options
        self.limits = limits
        self.fixedMaildirs = fixedMaildirs
        var recorder: TranscriptRecorder?
        if let settings = Self.transcriptSettings(options) {
            do {
                // The network side may not search the directory: the parent creates the files.
                let files: any TranscriptFiles
                if let split {
                    files = RemoteTranscriptFiles(client: split)
                } else {
                    files = try LocalTranscriptFiles(directory: settings.directory)
                }
                recorder = try TranscriptRecorder(settings, files: files, log: options.log)
            } catch {
                throw ServerErrors(errors: [
                    ServerError("transcript directory \(settings.directory): \(error)")
                ])
            }
        }
        do {
            group = try EventLoopGroup(count: options.loops)
        } catch {
            recorder?.stop()
            throw ServerErrors(errors: [ServerError("\(error)")])
        }
        let store: any MessageStore =
            store
            ?? (options.inMemory
                ? MemoryStore()
                : MaildirStore(
                    writer: MaildirWriter(
                        hostname: hostNameForFiles(), flushMode: options.flushMode),
                    relay: relay?.intake))
        if let relay, let first = plans.first {
            relay.bounces.connect(store: store, policy: first.policy, serverName: first.serverName)
        }
        let descriptors = raiseDescriptorLimit()
        let maxSessions = options.maxSessions ?? max(16, descriptors.after - 128)
        if options.maxSessions == nil && descriptors.after < 10_240 {
            options.log.write(
                "warn: descriptor limit is \(descriptors.after) (hard limit reached): at most \(maxSessions) sessions"
            )
        }
        var names: [SocketAddress: String] = [:]
        for plan in plans { names[plan.address] = plan.serverName }
        core = ServerCore(
            store: store, recordsMessages: options.recordsMessages, trace: options.trace,
            log: options.log, maxSessions: maxSessions,
            maxSessionsPerAddress: options.maxSessionsPerAddress,
            loops: group.loops, names: names, faults: options.faults, verbose: options.verbose,
            transcripts: recorder)
    }

    /// `options.transcripts` with its directory made absolute (from the working directory):
    /// the same path in the network side and in its parent, which creates the files.
    static func transcriptSettings(_ options: Options) -> TranscriptSettings? {
        guard var settings = options.transcripts else { return nil }
        if !settings.directory.hasPrefix("/") {
            settings.directory =
                (options.workingDirectory ?? currentDirectory()) + "/" + settings.directory
        }
        return settings
    }

    /// Binds every listener and starts serving. Sweeps the configured Maildirs' tmp/ first:
    /// whole messages a crash left there (perhaps acknowledged) are moved into new/, stale
    /// files removed.
    public func start() throws(ServerErrors) {
        if let split {
            do {
                try split.start()
            } catch {
                throw ServerErrors(errors: [ServerError("network side: \(error)")])
            }
        }
        // The network side's parent has swept them (and the child may not).
        sweepTemporaryFiles(of: options.networkSide == nil ? fixedMaildirs : [], log: options.log)
        let (bound, boundPlans, errors) =
            options.networkSide.map { Self.adopt($0.listeners, plans) } ?? Self.bind(plans)
        guard errors.isEmpty else {
            for listener in bound { listener.close() }
            throw ServerErrors(errors: errors)
        }
        serve(bound, boundPlans)
    }

    /// The network side's listeners: the sockets its parent bound, in plan order.
    private static func adopt(_ descriptors: [Int32], _ plans: [ListenerPlan]) -> (
        [Listener], [(Listener, ListenerPlan)], [ServerError]
    ) {
        var bound: [Listener] = []
        var errors: [ServerError] = []
        var boundPlans: [(Listener, ListenerPlan)] = []
        for (fd, plan) in zip(descriptors, plans) {
            do {
                let listener = try Listener(adopting: fd)
                bound.append(listener)
                var actual = plan
                actual.address = listener.address
                boundPlans.append((listener, actual))
            } catch {
                errors.append(ServerError("cannot listen on \(plan.address): \(error)"))
            }
        }
        return (bound, boundPlans, errors)
    }

    /// Binds a listener for each plan (the actual address, port 0 resolved, in its plan).
    static func bind(_ plans: [ListenerPlan]) -> (
        [Listener], [(Listener, ListenerPlan)], [ServerError]
    ) {
        var bound: [Listener] = []
        var errors: [ServerError] = []
        var boundPlans: [(Listener, ListenerPlan)] = []
        // A fresh interface's IPv6 addresses (its link-local one at least) stay tentative for
        // 1-2 s of duplicate address detection, and bind fails with EADDRNOTAVAIL meanwhile:
        // `listen on veth0` right after `ip link set veth0 up` would not start. The address
        // is configured, so bind it anyway; it serves once DAD is done.
        let configuredIPv6 = Set(
            interfaceAddresses().map(\.address).filter(\.isIPv6).map { $0.withPort(0) })
        for plan in plans {
            do {
                let configured =
                    plan.address.isIPv6 && configuredIPv6.contains(plan.address.withPort(0))
                let listener = try Listener(address: plan.address, freeBind: configured)
                bound.append(listener)
                var actual = plan
                actual.address = listener.address
                boundPlans.append((listener, actual))
            } catch {
                errors.append(ServerError("cannot listen on \(plan.address): \(error)"))
            }
        }
        return (bound, boundPlans, errors)
    }

    private func serve(_ bound: [Listener], _ boundPlans: [(Listener, ListenerPlan)]) {
        listeners.withLock { $0 = bound }
        var endpoints: Set<String> = []
        let hosts = interfaceAddresses().map(\.address.host)
        for listener in bound {
            let address = listener.address
            let wildcard = address.host == "0.0.0.0" || address.host == "::"
            for host in wildcard ? hosts : [address.host] {
                endpoints.insert("\(host) \(address.port)")
            }
        }
        relay?.queue.setLocalEndpoints(endpoints)
        relay?.queue.start()
        if let faults = options.faults {
            options.log.write(
                "info: fault injection: \(faults.rules.count) rule(s), seed=\(faults.seed)")
        }
        let core = self.core
        let limits = self.limits
        let options = self.options
        for (listener, plan) in boundPlans {
            options.log.write("info: listening on \(plan.address)")
            if options.verbose {
                options.log.write(
                    "debug: listener \(plan.address): hostname=\(plan.serverName) local=\(plan.isLocal) "
                        + "tag=\(plan.tag ?? "") tls=\(plan.tls?.mode.keyword ?? "plain") max-rcpt=\(limits.maxRecipients) "
                        + "max-mails=\(limits.maxMessagesPerSession) max-message-size=\(limits.maxMessageSize) "
                        + "sessions<=\(core.maxSessions) idle-timeout=\(options.idleTimeoutSeconds)s"
                )
            }
            listener.start(
                on: group.loops,
                accepted: { fd, peer, loop in
                    Self.accept(
                        fd: fd, peer: peer, loop: loop, plan: plan, core: core, limits: limits,
                        options: options)
                },
                failed: { error in
                    core.log("warn: accept on \(plan.address): \(error); pausing accepts")
                })
        }
    }

    private static func accept(
        fd: Int32, peer: SocketAddress, loop: EventLoop, plan: ListenerPlan, core: ServerCore,
        limits: SessionLimits, options: Options
    ) {
        if core.activeSessions.add(1, ordering: .relaxed).newValue > core.maxSessions {
            core.activeSessions.subtract(1, ordering: .relaxed)
            // Departure: OpenSMTPD stops accepting silently; a client here learns why.
            let text = Array(
                "421 4.3.2 \(plan.serverName) Too many sessions, try again later\r\n".utf8)
            _ = text.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            closeDescriptor(fd)
            core.log("warn: session limit (\(core.maxSessions)) reached: refused \(peer.host)")
            return
        }
        if plan.proxyV2 {
            // The client's address is known only once the PROXY header is read: the
            // per-address limit waits for it.
            let connection = Connection(fd: fd, peer: peer, local: plan.address, loop: loop)
            let preface = ProxyPreface(core: core) { connection, source, rest in
                let client = source ?? peer
                let host = client.sessionHost
                if let perAddress = core.perAddress, !perAddress.admit(host) {
                    // Handed over, the preface no longer gives the session slot back.
                    core.activeSessions.subtract(1, ordering: .relaxed)
                    connection.write(Array(Self.perAddressRefusal(plan).utf8))
                    connection.close(afterFlush: true)
                    core.log(Self.perAddressRefusalLog(perAddress, host))
                    return
                }
                let handler = makeSessionHandler(
                    fd: fd, client: client, loop: loop, plan: plan, core: core, limits: limits,
                    options: options)
                handler.accountedPeer = host
                connection.handler = handler
                core.sessionStarted(handler, on: loop)
                handler.begin(on: connection, listener: plan)
                if !rest.isEmpty {
                    rest.withUnsafeBytes { handler.received($0, on: connection) }
                }
            }
            do {
                try connection.start(
                    handler: preface,
                    idleTimeoutNanoseconds: UInt64(options.idleTimeoutSeconds * 1_000_000_000))
            } catch {
                core.activeSessions.subtract(1, ordering: .relaxed)
                core.log("warn: cannot serve \(peer.host): \(error)")
            }
            return
        }
        if let perAddress = core.perAddress, !perAddress.admit(peer.host) {
            core.activeSessions.subtract(1, ordering: .relaxed)
            let text = Array(perAddressRefusal(plan).utf8)
            _ = text.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            closeDescriptor(fd)
            core.log(perAddressRefusalLog(perAddress, peer.host))
            return
        }
        let handler = makeSessionHandler(
            fd: fd, client: peer, loop: loop, plan: plan, core: core, limits: limits,
            options: options)
        let connection = Connection(fd: fd, peer: peer, local: plan.address, loop: loop)
        do {
            try connection.start(
                handler: handler,
                idleTimeoutNanoseconds: UInt64(options.idleTimeoutSeconds * 1_000_000_000))
        } catch {
            core.activeSessions.subtract(1, ordering: .relaxed)
            core.perAddress?.release(peer.host)
            core.log("warn: cannot serve \(peer.host): \(error)")
            return
        }
        core.sessionStarted(handler, on: loop)
        handler.begin(on: connection, listener: plan)
    }

    private static func perAddressRefusalLog(_ limit: AddressSessionCount, _ host: String)
        -> String
    {
        "warn: per-address session limit (\(limit.limit)) reached: refused \(host)"
    }

    /// MailLab limit (OpenSMTPD has none): RFC 3463 X.7.0, a policy refusal.
    private static func perAddressRefusal(_ plan: ListenerPlan) -> String {
        "421 4.7.0 \(plan.serverName) Too many sessions from your address, try again later\r\n"
    }

    /// The session for a client at `client` (the TCP peer, or the one a PROXY header named)
    /// on the connection `fd`.
    private static func makeSessionHandler(
        fd: Int32, client peer: SocketAddress, loop: EventLoop, plan: ListenerPlan,
        core: ServerCore, limits: SessionLimits, options: Options
    ) -> SessionHandler {
        var configuration = SessionConfiguration(
            serverName: plan.serverName(forSessionOn: fd), listenerIsLocal: plan.isLocal)
        configuration.limits = limits
        configuration.traceEnabled = core.trace
        plan.tls?.apply(to: &configuration)
        plan.auth?.apply(to: &configuration)
        configuration.smtputf8 = plan.smtputf8
        configuration.chunking = plan.chunking
        configuration.dsn = plan.dsn
        configuration.advertisePipelining = plan.pipelining
        configuration.eightBitMIME = plan.eightBitMIME
        configuration.maskSource = plan.maskSource
        configuration.receivedAuth = plan.receivedAuth
        if let senders = plan.senders {
            configuration.senderAllowed = { senders.allows(user: $0, sender: $1) }
            configuration.masquerade = plan.masquerade
        }
        let peerInfo = PeerInfo(
            address: peer.sessionHost, hostName: HostNames.reverseName(of: peer))
        var session = SMTPSession(
            configuration: configuration, peer: peerInfo, policy: plan.policy,
            environment: options.environment)
        session.faults = core.nextSessionFaults()
        core.sessionsTotal.add(1, ordering: .relaxed)
        if core.verbose.load(ordering: .relaxed) {
            core.log(
                [
                    "debug: smtp: session \(session.id): accepted from \(peer.sessionHost) on \(plan.address)"
                ], on: loop)
        }
        return SessionHandler(
            core: core, session: session, tls: plan.tls?.context, timeouts: options.timeouts,
            credentials: plan.auth.map {
                SessionHandler.Credentials(
                    checker: $0.checker, failureDelaySeconds: options.authFailureDelaySeconds)
            })
    }

    /// The bound addresses (after `start`), with the ports the kernel chose for port 0.
    public var addresses: [SocketAddress] { listeners.withLock { $0.map(\.address) } }

    /// Every message delivered so far (the most recent 10,000, at most 32 MiB of content),
    /// oldest first.
    public var messages: [DeliveredMessage] { core.feed.all }

    /// The next delivered message not yet returned by this method; waits up to `timeout`
    /// seconds.
    public func nextMessage(timeout: Double = 10) async throws -> DeliveredMessage {
        try await core.feed.next(timeoutNanoseconds: UInt64(timeout * 1_000_000_000))
    }

    /// The next delivered message for which `predicate` holds, waiting up to `timeout`
    /// seconds in all; messages that do not match are passed over (and not returned by
    /// `nextMessage` later). GreenMail's `waitForIncomingEmail` with a filter.
    public func nextMessage(
        matching predicate: (DeliveredMessage) -> Bool, timeout: Double = 10
    ) async throws -> DeliveredMessage {
        let deadline = Clock.monotonicSeconds() + timeout
        while true {
            let left = deadline - Clock.monotonicSeconds()
            guard left > 0 else {
                throw ServerError("no matching message arrived within the timeout")
            }
            let message = try await nextMessage(timeout: left)
            if predicate(message) { return message }
        }
    }

    /// Sessions open right now.
    public var sessionCount: Int { core.activeSessions.load(ordering: .relaxed) }

    /// The relay queue, for `smtpctl` and tests; nil while the configuration has no relay
    /// action.
    public var queueControl: (any QueueControl)? { relay?.queue }

    /// Whether sessions log `debug:` lines (`-v`; `smtpctl log verbose|brief`).
    public var verbose: Bool {
        get { core.verbose.load(ordering: .relaxed) }
        set { core.verbose.store(newValue, ordering: .relaxed) }
    }

    /// Where this server writes session transcripts (absolute; nil: it writes none).
    public var transcriptDirectory: String? { core.transcripts?.directory }

    /// The fault rules sessions beginning now get (nil: none).
    public var faults: FaultPlan? { core.currentFaults }

    /// Serves smtpctl on a unix socket (`control socket`, `smtpd -s`), on one of this
    /// server's loops; `stop` closes it and removes the socket. Call after `start`.
    public func startControl(_ settings: ControlSettings) throws(ServerError) {
        guard let loop = group.loops.first else { throw ServerError("no event loop") }
        var settings = settings
        // The network side serves the socket its parent bound (and leaves the file to it).
        if let side = options.networkSide {
            guard let fd = side.control else { throw ServerError("no control socket") }
            settings.adopted = fd
        }
        let socket = try ControlSocket.open(settings)
        let service = ControlService(core: core, queue: settings.queue)
        socket.start(on: loop, service: service)
        control.withLock { $0 = socket }
    }

    private let control = Mutex<ControlSocket?>(nil)

    /// Stops accepting, lets deliveries in flight finish and be answered, tells the
    /// remaining sessions `421` and closes them, then stops the threads. Waits at most
    /// `graceSeconds` for deliveries. Idempotent. Do not call from a completion of this
    /// server's own loops.
    public func stop(graceSeconds: Double = 30) {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let bound = listeners.withLock { list -> [Listener] in
            let all = list
            list = []
            return all
        }
        for listener in bound { listener.close() }
        control.withLock { socket in
            socket?.close()
            socket = nil
        }
        let deadline = Clock.monotonicNanoseconds() + UInt64(graceSeconds * 1_000_000_000)
        while core.pendingDeliveries.load(ordering: .relaxed) > 0
            && Clock.monotonicNanoseconds() < deadline
        {
            Clock.sleep(seconds: 0.002)
        }
        for loop in group.loops {
            let core = self.core
            loop.execute { core.shutdownSessions(on: loop) }
        }
        let closeDeadline = Clock.monotonicNanoseconds() + 2_000_000_000
        while core.activeSessions.load(ordering: .relaxed) > 0
            && Clock.monotonicNanoseconds() < closeDeadline
        {
            Clock.sleep(seconds: 0.002)
        }
        // Whoever is left (a client that reads nothing cannot be flushed to) is closed
        // now, before the loops stop: a stopped loop would hold its descriptor for ever.
        for loop in group.loops {
            let core = self.core
            loop.execute { core.closeSessions(on: loop) }
        }
        // Sessions to next hops finish their transaction first: what they deliver is
        // recorded, and nothing new is queued once the listeners are closed.
        relay?.queue.stop()
        core.streamWriter.shutdown()  // its commits go to the store: first
        core.store.shutdown()
        group.shutdown()
        // After the loops: every session has handed over its last lines.
        core.transcripts?.stop()
        core.feed.close()
    }

    deinit { stop(graceSeconds: 5) }
}

/// Accepts every recipient into one Maildir.
struct CatchAllPolicy: RecipientPolicy {
    let mailbox: String
    func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict {
        .accept(RecipientRoute(action: "catch-all", user: recipient.localPart, mailbox: mailbox))
    }
}

func currentDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return "/" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The host part of Maildir file names: the real host name, as mail readers expect.
func hostNameForFiles() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    let name = String(
        decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "localhost" : name
}

extension SocketAddress {
    /// The client as sessions, logs and the per-address limit name it: the numeric host, or
    /// `local` for a unix-domain client behind a proxy (OpenSMTPD's `sa_to_text`).
    var sessionHost: String {
        if case .unix = self { return "local" }
        return host
    }
}

/// Where the delivery side's FAULTS notices go on the network side (the server, once made).
final class FaultTarget: Sendable {
    let core = Mutex<ServerCore?>(nil)

    func apply(_ text: String) {
        guard let core = core.withLock({ $0 }) else { return }
        do {
            let configuration = try SMTPConfiguration.parseFaults(text, fileName: "SIGHUP")
            core.replaceFaults(MailServer.faultPlan(configuration))
        } catch {
            core.log("warn: network side: fault rules from the delivery side: \(error)")
        }
    }
}
