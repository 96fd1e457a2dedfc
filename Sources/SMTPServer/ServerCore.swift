import LinuxSystem
import Reactor
import SMTPProtocol
import Synchronization

/// A resolved listener: where it binds and what its sessions are told.
struct ListenerPlan: Sendable {
    var address: SocketAddress
    var serverName: String
    var isLocal: Bool
    var tag: String?
    var policy: any RecipientPolicy
    var traceID: String
    /// STARTTLS or SMTPS; nil for a plain listener.
    var tls: ListenerTLS? = nil
    /// AUTH on this listener; nil: not offered.
    var auth: ListenerAuth? = nil
    /// SMTPUTF8 offered (MailLab `no-smtputf8` switches it off).
    var smtputf8 = true
    /// CHUNKING/BINARYMIME offered (MailLab `no-chunking` switches them off).
    var chunking = true
    /// DSN offered (OpenSMTPD `no-dsn` switches it off).
    var dsn = true
    /// PIPELINING advertised (MailLab `no-pipelining` switches it off).
    var pipelining = true
    /// 8BITMIME offered (MailLab `no-8bitmime` switches it off).
    var eightBitMIME = true
    /// `mask-src`: no client in `Received:`.
    var maskSource = false
    /// `received-auth`: the AUTH user in `Received:` (under TLS).
    var receivedAuth = false
    /// `senders <table>`: what each authenticated user may give in MAIL FROM.
    var senders: SenderTable? = nil
    /// `senders … masquerade`: `From:` rewritten to MAIL FROM for authenticated sessions.
    var masquerade = false
    /// `hostnames <table>`: local address → the name sessions arriving there are served as.
    var hostnames: LoadedTable? = nil
    /// `proxy-v2`: a PROXY protocol v2 header comes first and names the client.
    var proxyV2 = false

    /// The server name for a session accepted on `fd`: the `hostnames` entry for the address
    /// it arrived on (asked of the socket when the listener is bound to a wildcard), else
    /// the listener's name.
    func serverName(forSessionOn fd: Int32) -> String {
        guard let hostnames else { return serverName }
        let local = address.isWildcard ? (try? SocketAddress.local(of: fd)) ?? address : address
        return hostnames.value(for: local.host) ?? serverName
    }
}

/// State shared by all sessions of a server: the store, the log, counters and, per loop,
/// the open sessions (each set touched only on its own loop).
final class ServerCore: Sendable {
    let store: any MessageStore
    /// Writes streamed messages into their files off the loops.
    let streamWriter = StreamWriter()
    let feed = MessageFeed()
    /// Keep delivered messages for `messages`/`nextMessage` (the embedding API).
    let recordsMessages: Bool
    /// `-T smtp`, or `smtpctl trace|untrace smtp` while running: sessions beginning now
    /// trace their dialogue.
    let tracing: Atomic<Bool>
    var trace: Bool { tracing.load(ordering: .relaxed) }
    let logSink: LogSink
    let maxSessions: Int
    /// `smtp limit max-sessions-per-address`; nil: no limit.
    let perAddress: AddressSessionCount?
    let activeSessions = Atomic<Int>(0)
    let pendingDeliveries = Atomic<Int>(0)
    /// `-v`, or `smtpctl log verbose|brief` while running: `debug:` lines per session.
    let verbose: Atomic<Bool>
    /// For `smtpctl show stats`: sessions since start, recipients delivered or refused by
    /// the store, open control connections; the wall-clock start for `uptime`.
    let sessionsTotal = Atomic<Int>(0)
    let recipientsDelivered = Atomic<Int>(0)
    let recipientsTempFailed = Atomic<Int>(0)
    let recipientsPermFailed = Atomic<Int>(0)
    let controlSessions = Atomic<Int>(0)
    let startedAt = Clock.unixSeconds()
    /// The fault rules new sessions get (nil: none), replaceable while running.
    private let faultPlan: Mutex<FaultPlan?>
    /// Sessions begun since the server started: what a fault rule's session number counts.
    private let sessionsBegun = Atomic<Int>(0)
    private let registries: [ObjectIdentifier: LoopSessions]
    private let names: [SocketAddress: String]
    /// Where session transcripts go (nil: none are taken).
    let transcripts: TranscriptRecorder?

    init(
        store: any MessageStore, recordsMessages: Bool, trace: Bool, log: LogSink, maxSessions: Int,
        maxSessionsPerAddress: Int? = nil, loops: [EventLoop],
        names: [SocketAddress: String], faults: FaultPlan?, verbose: Bool = false,
        transcripts: TranscriptRecorder? = nil
    ) {
        self.transcripts = transcripts
        faultPlan = Mutex(faults)
        self.verbose = Atomic(verbose)
        self.store = store
        self.recordsMessages = recordsMessages
        tracing = Atomic(trace)
        self.logSink = log
        self.maxSessions = maxSessions
        perAddress = maxSessionsPerAddress.map { AddressSessionCount(limit: $0) }
        self.names = names
        var registries: [ObjectIdentifier: LoopSessions] = [:]
        for loop in loops { registries[ObjectIdentifier(loop)] = LoopSessions() }
        self.registries = registries
    }

    func log(_ line: String) { logSink.write(line) }

    /// The next session's share of the fault rules; nil without rules (and then no session
    /// number is taken).
    func nextSessionFaults() -> SessionFaults? {
        guard let plan = faultPlan.withLock({ $0 }), !plan.rules.isEmpty else { return nil }
        return plan.session(number: sessionsBegun.add(1, ordering: .relaxed).newValue)
    }

    /// The fault rules new sessions get now (nil: none).
    var currentFaults: FaultPlan? { faultPlan.withLock { $0 } }

    /// The counters of `smtpctl show stats`, OpenSMTPD's names where it has the counter.
    func statistics() -> [(name: String, value: Int)] {
        [
            ("control.session", controlSessions.load(ordering: .relaxed)),
            ("scheduler.delivery.ok", recipientsDelivered.load(ordering: .relaxed)),
            ("scheduler.delivery.permfail", recipientsPermFailed.load(ordering: .relaxed)),
            ("scheduler.delivery.tempfail", recipientsTempFailed.load(ordering: .relaxed)),
            ("smtp.session", activeSessions.load(ordering: .relaxed)),
            ("smtp.session.total", sessionsTotal.load(ordering: .relaxed)),
        ]
    }

    /// Sessions that begin from now on get `plan`; sessions already running keep theirs.
    /// Session numbers go on counting.
    func replaceFaults(_ plan: FaultPlan?) {
        faultPlan.withLock { $0 = plan }
        if let plan {
            log("info: fault injection: \(plan.rules.count) rule(s), seed=\(plan.seed)")
        } else {
            log("info: fault injection: off")
        }
    }

    /// Logs lines of a session on `loop` (call on that loop). They go out together just
    /// before the loop waits again: one write(2) per round of the loop, not one per line (a
    /// message's four lines were four writes).
    func log(_ lines: [String], on loop: EventLoop) {
        guard let registry = registries[ObjectIdentifier(loop)] else {
            logSink.writeLines(lines)
            return
        }
        if registry.pendingLog.isEmpty {
            loop.beforeWaiting { [self] in
                let batch = registry.pendingLog
                registry.pendingLog = []
                logSink.writeLines(batch)
            }
        }
        registry.pendingLog.append(contentsOf: lines)
    }

    func serverName(for connection: Connection) -> String {
        names[connection.local] ?? names.values.first ?? "localhost"
    }

    func deliveryStarted() { pendingDeliveries.add(1, ordering: .relaxed) }
    func deliveryFinished() { pendingDeliveries.subtract(1, ordering: .relaxed) }

    /// Call on `loop`.
    func sessionStarted(_ handler: SessionHandler, on loop: EventLoop) {
        registries[ObjectIdentifier(loop)]?.handlers[ObjectIdentifier(handler)] = handler
    }

    /// Call on `loop`.
    func sessionEnded(_ handler: SessionHandler, peer: String, on loop: EventLoop) {
        if registries[ObjectIdentifier(loop)]?.handlers.removeValue(
            forKey: ObjectIdentifier(handler)) != nil
        {
            activeSessions.subtract(1, ordering: .relaxed)
            perAddress?.release(peer)
        }
    }

    /// Call on `loop`: tells every session of the loop that the server stops.
    func shutdownSessions(on loop: EventLoop) {
        guard let registry = registries[ObjectIdentifier(loop)] else { return }
        for handler in Array(registry.handlers.values) { handler.shutdownNotice() }
    }

    /// Call on `loop`: closes every session of the loop at once, flushed or not.
    func closeSessions(on loop: EventLoop) {
        guard let registry = registries[ObjectIdentifier(loop)] else { return }
        for handler in Array(registry.handlers.values) { handler.closeNow() }
    }
}

/// The sessions of one loop. Only that loop touches it.
final class LoopSessions: @unchecked Sendable {
    var handlers: [ObjectIdentifier: SessionHandler] = [:]
    /// Log lines of this round of the loop, not yet written.
    var pendingLog: [String] = []
}
