import Glibc
import LinuxSystem
import Reactor
import SMTPClient
import SMTPProtocol
import Synchronization

/// One next hop of a relay URL: where it is and how its session is secured.
public struct RelayHop: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    /// STARTTLS: when offered (`smtp://`), required (`smtp+tls://`) or never.
    public var tls: RelayClientSession.TLSPolicy
    /// TLS from the first byte (`smtps://`).
    public var smtps: Bool

    public init(
        host: String, port: UInt16, tls: RelayClientSession.TLSPolicy = .never, smtps: Bool = false
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.smtps = smtps
    }

    /// As the URL said it (`show queue`, logs).
    public var text: String {
        let address = host.contains(":") ? "[\(host)]" : host
        return "smtp://\(address):\(port)"
    }
}

/// Where the recipients of one relay action go.
public struct RelayRoute: Sendable, Equatable {
    public enum NextHop: Sendable, Equatable {
        /// `relay host URL`: always this host and port.
        case host(String, port: UInt16)
        /// `relay` alone: the recipient domain's exchangers (`MailExchangerLookup`).
        case mailExchangers
        /// `relay host <table>`: one of these, taken in turn; the next when it fails.
        case hosts([RelayHop])
        /// `relay domain <table>`: the recipient's domain picks its relay; a domain the
        /// table does not name fails permanently (OpenSMTPD's LKA_PERMFAIL).
        case domains([String: RelayHop])
    }
    public var nextHop: NextHop
    /// EHLO name (`helo`, or `helo-src` for the source address); nil: the server's name.
    public var helo: String?
    /// STARTTLS: when offered (`smtp://`), required (`smtp+tls://`) or never.
    public var tls: RelayClientSession.TLSPolicy
    /// TLS from the first byte (`smtps://`).
    public var smtps: Bool
    /// `auth <table>`: what the URL's label maps to; sent only over TLS.
    public var credentials: RelayClientSession.Credentials?
    /// `src ADDRESS`: the local address connections to the next hop come from.
    public var source: String?
    /// `tls` (verify), `ca`, `pki`, `ciphers`, `protocols`.
    public var tlsOptions = TLSClientOptions()
    /// `mail-from ADDRESS`: the envelope sender's parts this replaces (`user@domain`,
    /// `@domain`); the null sender stays null (OpenSMTPD's mta).
    public var mailFrom: String?
    /// `backup [mx NAME]`: only exchangers preferred over the one named (the server's name
    /// by default) are tried.
    public var backupName: String?
    /// `ttl` of the action (seconds): how long its recipients may wait; nil: `queue ttl`.
    public var ttl: Int?

    public init(
        nextHop: NextHop, helo: String? = nil, tls: RelayClientSession.TLSPolicy = .never,
        smtps: Bool = false, credentials: RelayClientSession.Credentials? = nil,
        source: String? = nil
    ) {
        self.nextHop = nextHop
        self.helo = helo
        self.tls = tls
        self.smtps = smtps
        self.credentials = credentials
        self.source = source
    }

    /// The envelope sender a transaction of this route announces.
    public func sender(for original: ReversePath) -> ReversePath {
        guard let mailFrom, case .address(let address) = original else { return original }
        let local: Substring
        let domain: Substring
        if let at = mailFrom.lastIndex(of: "@") {
            local = mailFrom[..<at]
            domain = mailFrom[mailFrom.index(after: at)...]
        } else {
            local = mailFrom[...]
            domain = ""
        }
        return .address(
            MailAddress(
                localPart: local.isEmpty ? address.localPart : String(local),
                domain: domain.isEmpty ? address.domain : String(domain)))
    }
}

/// The relay queue: messages in the spool, a scheduler that makes their recipients due,
/// delivery threads per destination (at most `maxConnectionsPerDestination` sessions each,
/// a session reused for the next message to the same place), retries with backoff, and the
/// bounces of what failed. A message leaves the spool only when every recipient is
/// delivered, bounced or removed, so a crash at any point delivers again rather than loses.
/// OpenSMTPD: `scheduler.c` + `mta.c`.
public final class RelayQueue: Sendable {
    public struct Configuration: Sendable {
        public var spool: String
        /// The spool folder opened by whoever may reach it (smtpd's network side gets it
        /// from its parent: docs/PRIVILEGES.md); nil: opened by path.
        public var spoolDescriptor: Int32?
        /// The routes' client TLS, made beforehand (``RelayQueue/clientContexts(_:log:)``:
        /// key files are read before smtpd's network side gives up root); nil: made here.
        public var tlsContexts: [String: TLSContext]?
        /// Relay action name → where its recipients go.
        public var routes: [String: RelayRoute]
        /// EHLO name and the name in bounces.
        public var serverName: String
        /// Seconds before the first retry, doubled per attempt up to `retryMax`.
        public var retryMin = 60
        public var retryMax = 3_600
        /// Seconds after arrival at which a sender whose recipients still wait is warned
        /// (`bounce warn-interval`; OpenSMTPD's default, 4 hours). Empty: no warnings.
        public var bounceWarnIntervals = [4 * 3_600]
        /// `mta max-deferred`: per destination, how many deferred recipients are made due
        /// at once when a delivery to it succeeds (OpenSMTPD's mta caches them, 100 by
        /// default); the others wait for their retry.
        public var maxDeferred = 100
        public var maxConnectionsPerDestination = 4
        /// Delivery threads (each one session) over every destination together: an MX
        /// fan-out cannot open more (OpenSMTPD's mta limits a relay to 100 connections).
        public var maxConnections = 100
        /// Connect, and the TLS handshake (OpenSMTPD's mta: 300 s for its io).
        public var connectTimeout: Double = 300
        /// For the whole of one reply, however slowly its bytes come (OpenSMTPD's mta: 300 s).
        public var replyTimeout: Double = 300
        /// What counts as this server for an exchanger: its names (EHLO name, host name)
        /// and the `host port` pairs it listens on. An MX that is one of them, and every
        /// MX not preferred over it, is skipped (RFC 5321 §5.1).
        public var localNames: Set<String> = []
        public var localEndpoints: Set<String> = []
        /// How long an idle session waits for another message before QUIT.
        public var idleSeconds: Double = 2
        public var exchangers: (any MailExchangerLookup)?
        public var log: @Sendable (String) -> Void = { _ in }

        public init(spool: String, routes: [String: RelayRoute], serverName: String) {
            self.spool = spool
            self.routes = routes
            self.serverName = serverName
        }
    }

    /// Hands a bounce to the server's router and store; `done(true)` once it is durable.
    public typealias BounceSubmitter =
        @Sendable (
            _ recipient: MailAddress, _ content: [UInt8],
            _ done: @escaping @Sendable (Bool) -> Void
        ) -> Void

    /// One recipient as `smtpctl show queue` lists it.
    public struct EnvelopeSnapshot: Sendable, Equatable {
        public var id: UInt64
        public var sender: String
        public var recipient: String
        public var destination: String
        public var inFlight: Bool
        public var created: Int64
        public var expires: Int64
        public var lastTry: Int64
        public var nextTry: Int64
        public var retries: Int
        public var lastError: String
    }

    private struct Entry {
        var message: QueuedMessage
        var inFlight: Set<Int> = []
        var finalizing = false
        /// When a failed bounce submission is tried again.
        var nextFinalize: Int64 = 0
        /// Recipients whose delay warning is being stored: not warned twice meanwhile.
        var warning: Set<Int> = []
    }

    private struct Job {
        var name: String
        var indexes: [Int]
    }

    private struct Destination {
        var jobs: [Job] = []
        var workers = 0
        /// After a connection to it failed: no attempt before then (the other messages
        /// to it wait with the one that failed instead of each trying at once).
        var blockedUntil: Int64 = 0
        /// Connection failures in a row (the block doubles as a recipient's retry does).
        var failures = 0
        /// Recipients deferred here, at most `maxDeferred`, oldest first: due again as soon
        /// as a delivery here succeeds (OpenSMTPD `mta_hoststat_cache`).
        var deferred: [Deferred] = []
    }

    private struct Deferred: Equatable {
        var name: String
        var index: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var destinations: [String: Destination] = [:]
        var paused = false
        var stopping = false
        var running = 0
        var delivered = 0
        var bounced = 0
        var deferred = 0
        var sessions = 0
        /// Delivery threads running, over every destination.
        var workers = 0
        /// Per action with a host table: which of its hosts comes first next time.
        var rotation: [String: Int] = [:]
        /// `host port` of every listener as bound (`setLocalEndpoints`).
        var localEndpoints: Set<String> = []
    }

    public let configuration: Configuration
    private let spool: QueueSpool
    /// The client side of STARTTLS and SMTPS, per relay action (its `tls`, `ca`, `pki`,
    /// `ciphers`, `protocols`); none for an action whose context OpenSSL refused: its TLS
    /// sessions then fail temporarily, saying so.
    private let tlsContexts: [String: TLSContext]
    private let submitBounce: BounceSubmitter
    private let state = Mutex(State())
    /// Serializes spool rewrites, each taking its snapshot inside: a later state can never
    /// be overwritten by an earlier one.
    private let persisting = Mutex(())

    /// Opens and locks the spool and reads every message in it (resuming a queue left by
    /// an earlier run, whatever state it was in). Files that cannot be read are left where
    /// they are and logged.
    public init(_ configuration: Configuration, submitBounce: @escaping BounceSubmitter)
        throws(SystemError)
    {
        self.configuration = configuration
        self.submitBounce = submitBounce
        spool = try QueueSpool(
            root: configuration.spool, descriptor: configuration.spoolDescriptor)
        tlsContexts =
            configuration.tlsContexts
            ?? Self.clientContexts(configuration.routes, log: configuration.log)
        var entries: [String: Entry] = [:]
        for name in try spool.names() {
            do {
                let message = try QueueFileCodec.decode(try spool.envelope(name)).message
                entries[name] = Entry(message: message)
            } catch {
                configuration.log(
                    "warn: queue file \(spool.messageDirectory)/\(name) left alone: \(error)")
            }
        }
        if !entries.isEmpty {
            configuration.log(
                "info: queue: resumed \(entries.count) message(s) from \(configuration.spool)")
        }
        state.withLock {
            $0.entries = entries
            $0.localEndpoints = configuration.localEndpoints
        }
    }

    /// Each relay action's client TLS (one shared context for the actions without options of
    /// their own); an action whose certificate or key cannot be read gets none, said in `log`.
    public static func clientContexts(
        _ routes: [String: RelayRoute], log: @Sendable (String) -> Void
    ) -> [String: TLSContext] {
        var contexts: [String: TLSContext] = [:]
        var shared: TLSContext?
        for (action, route) in routes {
            do {
                if route.tlsOptions == TLSClientOptions() {
                    if shared == nil { shared = try TLSContext(client: TLSClientOptions()) }
                    contexts[action] = shared
                } else {
                    contexts[action] = try TLSContext(client: route.tlsOptions)
                }
            } catch {
                log("warn: queue: no client TLS for action \"\(action)\": \(error)")
            }
        }
        return contexts
    }

    /// The `host port` pairs the server listens on, once bound (a port 0 becomes a real
    /// one only then): an exchanger among them is this server.
    public func setLocalEndpoints(_ endpoints: Set<String>) {
        state.withLock { $0.localEndpoints = endpoints }
    }

    /// Where `MaildirWriter` puts new messages (the spool's `new/` is inside it).
    public var spoolRoot: String { spool.root }

    /// Starts the scheduler.
    public func start() {
        do {
            try SystemThread.start(name: "queue-scheduler", detached: true) { [self] in
                state.withLock { $0.running += 1 }
                while !state.withLock({ $0.stopping }) {
                    dispatch()
                    // XXX: a 200 ms tick instead of a timed wait on a condition: retries are
                    // seconds apart, and enqueue and `schedule` dispatch at once themselves.
                    Clock.sleep(seconds: 0.2)
                }
                state.withLock { $0.running -= 1 }
            }
        } catch {
            configuration.log("warn: queue: cannot start the scheduler: \(error)")
        }
    }

    /// Stops scheduling; sessions finish their transaction and quit. Waits up to
    /// `graceSeconds` for them.
    public func stop(graceSeconds: Double = 10) {
        state.withLock { $0.stopping = true }
        let deadline = Clock.monotonicSeconds() + graceSeconds
        while state.withLock({ $0.running > 0 }) && Clock.monotonicSeconds() < deadline {
            Clock.sleep(seconds: 0.01)
        }
    }

    /// A message the group commit has just made durable as `path` (in the spool's `new/`).
    public func enqueued(path: String, message: QueuedMessage) {
        let name = String(path.split(separator: "/").last ?? "")
        state.withLock { $0.entries[name] = Entry(message: message) }
        dispatch(only: name)
    }

    /// Removes the spool file at `path`, written but never enqueued: its message was not
    /// acknowledged after all (the rest of it failed). Not flushed: should a crash bring it
    /// back, it is relayed, and the client's retry too (at least once).
    public func removeUnacknowledged(path: String) {
        let name = String(path.split(separator: "/").last ?? "")
        do {
            try spool.remove(name)
        } catch {
            configuration.log(
                "warn: queue: \(spool.messageDirectory)/\(name) not removed: \(error)")
        }
    }

    // MARK: control

    public func envelopes() -> [EnvelopeSnapshot] {
        state.withLock { state in
            var list: [EnvelopeSnapshot] = []
            for entry in state.entries.values {
                let m = entry.message
                for (index, r) in m.recipients.enumerated() where r.state == .pending {
                    list.append(
                        EnvelopeSnapshot(
                            id: UInt64(m.id) << 32 | UInt64(index), sender: m.sender.description,
                            recipient: r.address.description, destination: destination(of: r),
                            inFlight: entry.inFlight.contains(index), created: m.created,
                            expires: expiry(of: r, in: m), lastTry: r.lastTry, nextTry: r.nextTry,
                            retries: r.attempts, lastError: r.lastError))
                }
            }
            return list.sorted { $0.id < $1.id }
        }
    }

    /// Makes the pending envelopes whose id `selects` due now.
    @discardableResult public func schedule(where selects: (UInt64) -> Bool) -> Int {
        let count = state.withLock { state in
            var count = 0
            for name in state.entries.keys {
                let id = UInt64(state.entries[name]!.message.id) << 32
                for index in state.entries[name]!.message.recipients.indices
                where state.entries[name]!.message.recipients[index].state == .pending
                    && selects(id | UInt64(index))
                {
                    state.entries[name]!.message.recipients[index].nextTry = 0
                    // Asked for now: a destination's failure block does not hold it back.
                    let key = jobKey(of: state.entries[name]!.message.recipients[index])
                    state.destinations[key]?.blockedUntil = 0
                    count += 1
                }
            }
            return count
        }
        dispatch()
        return count
    }

    /// Takes the pending envelopes whose id `selects` out of the queue, without a bounce.
    @discardableResult public func remove(where selects: (UInt64) -> Bool) -> Int {
        let (count, names) = state.withLock { state in
            var count = 0
            var names: [String] = []
            for name in state.entries.keys {
                let id = UInt64(state.entries[name]!.message.id) << 32
                for index in state.entries[name]!.message.recipients.indices
                where state.entries[name]!.message.recipients[index].state == .pending
                    && selects(id | UInt64(index))
                {
                    state.entries[name]!.message.recipients[index].state = .removed
                    count += 1
                    names.append(name)
                }
            }
            return (count, names)
        }
        for name in Set(names) { persist(name) }
        dispatch()
        return count
    }

    public func pause() { state.withLock { $0.paused = true } }

    public func resume() {
        state.withLock { $0.paused = false }
        dispatch()
    }

    public var isPaused: Bool { state.withLock { $0.paused } }

    /// OpenSMTPD-style counters.
    public func statistics() -> [(name: String, value: Int)] {
        state.withLock { s in
            let envelopes = s.entries.values.reduce(0) {
                $0 + $1.message.recipients.filter { $0.state == .pending }.count
            }
            return [
                ("queue.message", s.entries.count), ("queue.envelope", envelopes),
                ("mta.session", s.sessions), ("mta.delivered", s.delivered),
                ("mta.deferred", s.deferred), ("queue.bounce", s.bounced),
            ]
        }
    }

    // MARK: scheduling

    private func destination(of recipient: QueuedRecipient) -> String {
        guard let route = configuration.routes[recipient.action] else {
            return "action \(recipient.action)"
        }
        switch route.nextHop {
        case .host(let host, let port): return RelayHop(host: host, port: port).text
        case .mailExchangers: return recipient.address.domain.lowercased()
        case .hosts(let hops): return hops.map(\.text).joined(separator: " ")
        case .domains(let table):
            return table[recipient.address.domain.lowercased()]?.text
                ?? recipient.address.domain.lowercased()
        }
    }

    /// When `recipient` bounces: its action's `ttl` after the message arrived, else the
    /// message's own expiry (`queue ttl`). Per recipient: two actions, two lifetimes.
    private func expiry(of recipient: QueuedRecipient, in message: QueuedMessage) -> Int64 {
        guard let ttl = configuration.routes[recipient.action]?.ttl else { return message.expires }
        return message.created + Int64(ttl)
    }

    /// What a delivery thread and its reused session serve: one action's route to one
    /// destination. Two actions to the same host differ in scheme, TLS, HELO, AUTH or source,
    /// so they never share a transaction or a session (a `smtp+tls://` recipient must not go
    /// out in a `smtp+notls://` session to the same host).
    private func jobKey(of recipient: QueuedRecipient) -> String {
        "\(destination(of: recipient)) (action \(recipient.action))"
    }

    /// Expires what is due to, hands due recipients to their destinations (starting
    /// delivery threads up to the limit), and finishes messages with nothing left to do.
    /// `only`: look at that message alone (a new one: the scheduler's tick sees the rest, so
    /// an enqueue does not cost a walk over the whole queue).
    private func dispatch(only: String? = nil) {
        let now = Clock.unixSeconds()
        let (starts, finishing, expired) = state.withLock {
            state -> ([String], [String], [String]) in
            guard !state.stopping else { return ([], [], []) }
            var finishing: [String] = []
            var expired: [String] = []
            for name in only.map({ [$0] }) ?? Array(state.entries.keys) {
                guard var entry = state.entries[name] else { continue }
                do {
                    for i in entry.message.recipients.indices
                    where entry.message.recipients[i].state == .pending
                        && !entry.inFlight.contains(i)
                        && expiry(of: entry.message.recipients[i], in: entry.message) <= now
                    {
                        entry.message.recipients[i].state = .failed
                        let last = entry.message.recipients[i].lastError
                        entry.message.recipients[i].lastError =
                            "4.4.7 Delivery time expired" + (last.isEmpty ? "" : " (last: \(last))")
                        expired.append(name)
                    }
                }
                if entry.message.isFinished && entry.inFlight.isEmpty && !entry.finalizing
                    && entry.nextFinalize <= now
                {
                    entry.finalizing = true
                    finishing.append(name)
                } else if !state.paused {
                    var byDestination: [String: [Int]] = [:]
                    for (i, r) in entry.message.recipients.enumerated()
                    where r.state == .pending && !entry.inFlight.contains(i) && r.nextTry <= now {
                        let key = jobKey(of: r)
                        let blocked = state.destinations[key]?.blockedUntil ?? 0
                        if blocked > now {
                            // Its destination failed a moment ago: wait for that retry
                            // (no attempt counted, none made).
                            entry.message.recipients[i].nextTry = blocked
                            continue
                        }
                        byDestination[key, default: []].append(i)
                    }
                    for (key, indexes) in byDestination {
                        entry.inFlight.formUnion(indexes)
                        state.destinations[key, default: Destination()].jobs.append(
                            Job(name: name, indexes: indexes))
                    }
                }
                state.entries[name] = entry
            }
            var starts: [String] = []
            // Oldest destinations first would need an order; the global cap only bounds
            // how many run, and a destination left out now starts when a thread ends.
            for (key, destination) in state.destinations {
                let wanted = min(
                    destination.jobs.count,
                    configuration.maxConnectionsPerDestination - destination.workers,
                    configuration.maxConnections - state.workers)
                guard wanted > 0 else { continue }
                state.destinations[key]!.workers += wanted
                state.workers += wanted
                state.running += wanted
                starts += Array(repeating: key, count: wanted)
            }
            return (starts, finishing, Array(Set(expired)))
        }
        for name in expired { configuration.log("info: queue: \(name): expired recipients bounce") }
        for key in starts { startWorker(for: key) }
        for name in finishing { finalize(name) }
    }

    private func startWorker(for key: String) {
        do {
            try SystemThread.start(name: "mta", detached: true) { [self] in work(for: key) }
        } catch {
            configuration.log("warn: queue: cannot start a delivery thread: \(error)")
            state.withLock {
                $0.destinations[key]?.workers -= 1
                $0.workers -= 1
                $0.running -= 1
            }
        }
    }

    /// One delivery thread: takes the destination's jobs one after the other over one
    /// session while they keep coming, QUITs when none came for `idleSeconds`.
    private func work(for key: String) {
        var connection: RelayConnection?
        var idleSince = Clock.monotonicSeconds()
        while true {
            let job: Job? = state.withLock { state in
                let now = Clock.unixSeconds()
                while !state.stopping, !(state.destinations[key]?.jobs.isEmpty ?? true) {
                    let job = state.destinations[key]!.jobs.removeFirst()
                    let blocked = state.destinations[key]!.blockedUntil
                    guard blocked > now, connection?.isUsable != true else { return job }
                    // The destination failed after this job was queued: back to waiting,
                    // until the same retry as the one that failed (no attempt counted).
                    for index in job.indexes {
                        state.entries[job.name]?.inFlight.remove(index)
                        state.entries[job.name]?.message.recipients[index].nextTry = blocked
                    }
                }
                return nil
            }
            guard let job else {
                let stopping = state.withLock { $0.stopping }
                if !stopping, connection?.isUsable == true,
                    Clock.monotonicSeconds() - idleSince < configuration.idleSeconds
                {
                    Clock.sleep(seconds: 0.02)
                    continue
                }
                connection?.quit()
                let exited = state.withLock { state -> Bool in
                    // Re-checked under the lock: a job queued after the last look keeps
                    // this thread (nobody else would be started for it).
                    if !state.stopping, !(state.destinations[key]?.jobs.isEmpty ?? true) {
                        return false
                    }
                    state.destinations[key]?.workers -= 1
                    state.workers -= 1
                    state.running -= 1
                    return true
                }
                if exited {
                    // A destination the global cap held back gets this thread's place.
                    dispatchWaiting()
                    return
                }
                continue
            }
            deliver(job, over: &connection)
            idleSince = Clock.monotonicSeconds()
        }
    }

    private enum Outcome {
        case delivered
        case deferred(String)
        /// No session could be opened: deferred, and the destination waits as long.
        case unreachable(String)
        case failed(String, remote: String?)
    }

    /// One attempt for the recipients of `job`, on the session it finds or opens.
    private func deliver(_ job: Job, over connection: inout RelayConnection?) {
        guard
            let (message, recipients) = state.withLock({
                state -> (QueuedMessage, [QueuedRecipient])? in
                guard let entry = state.entries[job.name] else { return nil }
                return (entry.message, job.indexes.map { entry.message.recipients[$0] })
            }), let first = recipients.first
        else { return }
        let route = configuration.routes[first.action]
        var outcomes: [Outcome]
        if let route {
            outcomes = attempt(
                job.name, message, recipients, route: route, action: first.action,
                domain: first.address.domain, connection: &connection)
        } else {
            outcomes = Array(
                repeating: .deferred(
                    "4.3.0 no relay action \"\(first.action)\" in the configuration"),
                count: recipients.count)
        }
        record(job, outcomes)
    }

    /// Starts delivery threads for destinations with jobs and room (after a thread ended:
    /// the global cap may have held one back). A walk over no message.
    private func dispatchWaiting() { dispatch(only: "") }

    private func attempt(
        _ name: String, _ message: QueuedMessage, _ recipients: [QueuedRecipient],
        route: RelayRoute,
        action: String, domain: String, connection: inout RelayConnection?
    ) -> [Outcome] {
        func all(_ outcome: Outcome) -> [Outcome] {
            Array(repeating: outcome, count: recipients.count)
        }
        if let reused = connection, !reused.isUsable {
            // Closed by the next hop while idle (a 421, a FIN): a new session, and no
            // attempt lost on the old one.
            reused.close()
            connection = nil
        }
        if connection == nil {
            let endpoints: [RelayConnection.Endpoint]
            switch nextHops(route, action: action, domain: domain) {
            case .success(let found): endpoints = found
            case .failure(let failure): return all(failure.outcome)
            }
            switch RelayConnection.open(
                endpoints, heloName: route.helo ?? configuration.serverName,
                credentials: route.credentials, source: route.source,
                tlsContext: tlsContexts[action], connectTimeout: configuration.connectTimeout,
                timeout: configuration.replyTimeout, log: configuration.log)
            {
            case .success(let opened):
                connection = opened
                state.withLock { $0.sessions += 1 }
            case .failure(let failure):
                return all(.unreachable(failure.reply.wireLines.first ?? "\(failure.reply.code)"))
            }
        }
        guard let session = connection else { return all(.deferred("4.4.1 no connection")) }
        let content: RelayContent
        do {
            content = try RelayContent(try spool.content(name))
        } catch {
            // The spool file cannot be read now (EIO, ENOMEM): another attempt may.
            return all(.deferred("4.3.0 cannot read the queued message: \(error)"))
        }
        let transaction = RelayClientSession.Transaction(
            sender: route.sender(for: message.sender), recipients: recipients.map(\.address),
            recipientDSN: recipients.map(\.dsn), dsn: message.dsn, content: content)
        switch session.send(transaction) {
        case .success(let result):
            return result.replies.map { outcome(of: $0, remote: session.endpoint.host) }
        case .failure(let failure):
            connection = nil
            return all(outcome(of: failure.reply, remote: nil))
        }
    }

    private struct RouteFailure: Error {
        var outcome: Outcome
    }

    /// The addresses to try, in order, for one attempt of `route` to `domain`.
    private func nextHops(_ route: RelayRoute, action: String, domain: String)
        -> Result<[RelayConnection.Endpoint], RouteFailure>
    {
        func endpoint(_ hop: RelayHop) -> RelayConnection.Endpoint {
            RelayConnection.Endpoint(
                host: hop.host, port: hop.port, name: hop.host, tls: hop.tls, smtps: hop.smtps)
        }
        switch route.nextHop {
        case .host(let host, let port):
            return .success([
                RelayConnection.Endpoint(
                    host: host, port: port, name: host, tls: route.tls, smtps: route.smtps)
            ])
        case .hosts(let hops):
            // As OpenSMTPD's table_fetch: each attempt starts at the next entry; the
            // others follow when it cannot be reached.
            let first = state.withLock { state -> Int in
                let index = state.rotation[action, default: 0]
                state.rotation[action] = (index + 1) % max(1, hops.count)
                return index
            }
            let rotated = Array(hops[first...] + hops[..<first])
            return .success(rotated.map(endpoint))
        case .domains(let table):
            guard let hop = table[domain.lowercased()] else {
                return .failure(
                    RouteFailure(
                        outcome: .failed(
                            "550 5.1.2 no relay host for \(domain) in the domain table",
                            remote: nil)))
            }
            return .success([endpoint(hop)])
        case .mailExchangers:
            guard let lookup = configuration.exchangers else {
                return .failure(
                    RouteFailure(outcome: .deferred("4.4.3 no MX lookup configured for \(domain)")))
            }
            let exchangers: [MailExchanger]
            do {
                exchangers = try lookup.mailExchangers(for: domain)
            } catch {
                let text = "MX lookup for \(domain): \(error.reason)"
                return .failure(
                    RouteFailure(
                        outcome: error.isPermanent
                            ? .failed("5.1.2 " + text, remote: nil) : .deferred("4.4.3 " + text)))
            }
            switch ExchangerFilter.usable(
                exchangers,
                backupName: route.backupName.map { $0.isEmpty ? configuration.serverName : $0 },
                localNames: configuration.localNames,
                localEndpoints: state.withLock { $0.localEndpoints })
            {
            case .success(let usable):
                let tls = route.tls
                return .success(
                    usable.flatMap { mx in
                        mx.addresses.map {
                            RelayConnection.Endpoint(
                                host: $0, port: mx.port, name: mx.host, tls: tls, smtps: false)
                        }
                    })
            case .failure(.noneBelowBackup(let name)):
                return .failure(
                    RouteFailure(
                        outcome: .deferred(
                            "4.4.4 No MX found for destination: none preferred over the "
                                + "backup \(name) for \(domain)")))
            case .failure(.pointsToSelf):
                return .failure(
                    RouteFailure(
                        outcome: .failed(
                            "550 5.4.6 loop: MX for \(domain) points to this host", remote: nil)))
            }
        }
    }

    private func outcome(of reply: SMTPReply, remote: String?) -> Outcome {
        let text = reply.wireLines.first ?? "\(reply.code)"
        if reply.code >= 200 && reply.code < 300 { return .delivered }
        if reply.isPermanentFailure { return .failed(text, remote: remote) }
        return .deferred(text)
    }

    /// Records an attempt's outcomes, then writes the new state or finishes the message.
    private func record(_ job: Job, _ outcomes: [Outcome]) {
        let now = Clock.unixSeconds()
        var warnings: [Int: [Int]] = [:]
        var rescheduled = false
        let finished = state.withLock { state -> Bool in
            guard var entry = state.entries[job.name] else { return false }
            let key = job.indexes.first.map { jobKey(of: entry.message.recipients[$0]) }
            var destination = key.map { state.destinations[$0, default: Destination()] }
            var deliveredHere = false
            for (index, outcome) in zip(job.indexes, outcomes) {
                entry.inFlight.remove(index)
                var r = entry.message.recipients[index]
                destination?.deferred.removeAll { $0 == Deferred(name: job.name, index: index) }
                guard r.state == .pending else { continue }  // removed meanwhile
                r.attempts += 1
                r.lastTry = now
                switch outcome {
                case .delivered:
                    r.state = .delivered
                    r.lastError = ""
                    state.delivered += 1
                    deliveredHere = true
                case .deferred(let text), .unreachable(let text):
                    r.lastError = text
                    if let count = destination?.deferred.count, count < configuration.maxDeferred {
                        destination?.deferred.append(Deferred(name: job.name, index: index))
                    }
                    let shift = min(r.attempts - 1, 20)
                    let delay = min(configuration.retryMin << shift, configuration.retryMax)
                    r.nextTry = now + Int64(delay)
                    state.deferred += 1
                case .failed(let text, let remote):
                    r.state = .failed
                    r.lastError = remote.map { "\(text) (from \($0))" } ?? text
                }
                entry.message.recipients[index] = r
                if !entry.warning.contains(index),
                    let interval = Bounce.dueDelayWarning(
                        for: r, of: entry.message, intervals: configuration.bounceWarnIntervals,
                        expires: expiry(of: r, in: entry.message))
                {
                    entry.warning.insert(index)
                    warnings[interval, default: []].append(index)
                }
            }
            state.entries[job.name] = entry
            if let key, var destination {
                if case .unreachable = outcomes.first {
                    destination.failures += 1
                    let shift = min(destination.failures - 1, 20)
                    let delay = min(configuration.retryMin << shift, configuration.retryMax)
                    destination.blockedUntil = now + Int64(delay)
                } else {
                    destination.failures = 0
                    destination.blockedUntil = 0
                }
                if deliveredHere {
                    // The destination takes mail again: what waited for it goes now.
                    for waiting in destination.deferred {
                        guard var other = state.entries[waiting.name],
                            other.message.recipients[waiting.index].state == .pending,
                            !other.inFlight.contains(waiting.index)
                        else { continue }
                        other.message.recipients[waiting.index].nextTry = now
                        state.entries[waiting.name] = other
                        rescheduled = true
                    }
                    destination.deferred = []
                }
                state.destinations[key] = destination
            }
            guard var entry = state.entries[job.name] else { return false }
            let done = entry.message.isFinished && entry.inFlight.isEmpty && !entry.finalizing
            if done { entry.finalizing = true }
            state.entries[job.name] = entry
            return done
        }
        let addresses = state.withLock { state in
            job.indexes.map { state.entries[job.name]?.message.recipients[$0].address }
        }
        for (address, outcome) in zip(addresses, outcomes) {
            let to = "info: queue: \(job.name) to=<\(address.map(\.description) ?? "?")>"
            switch outcome {
            case .delivered: configuration.log("\(to) delivered")
            case .deferred(let text), .unreachable(let text):
                configuration.log("\(to) deferred: \(text)")
            case .failed(let text, _): configuration.log("\(to) failed: \(text)")
            }
        }
        if finished { finalize(job.name) } else { persist(job.name) }
        for (interval, indexes) in warnings.sorted(by: { $0.key < $1.key }) {
            warn(job.name, interval: interval, indexes: indexes)
        }
        if rescheduled { dispatch() }
    }

    /// Sends the delay warning for `interval` about recipients `indexes` of `name` through
    /// the bounce router; once it is stored, records it in the spool file (a warning that
    /// could not be stored is due again at the next failure).
    private func warn(_ name: String, interval: Int, indexes: [Int]) {
        guard let message = state.withLock({ $0.entries[name]?.message }),
            case .address(let sender) = message.sender
        else { return }
        let delayed = indexes.map { i in
            let r = message.recipients[i]
            return Bounce.Failure(
                recipient: r, status: Bounce.delayStatus(of: r.lastError), diagnostic: r.lastError)
        }
        let retryUntil = indexes.map { expiry(of: message.recipients[$0], in: message) }.min() ?? 0
        let content = Bounce.compose(
            for: message, original: original(name, message), failures: delayed,
            reportingMTA: configuration.serverName,
            now: Clock.unixSeconds(), notificationID: QueueFileCodec.hex(randomID()),
            delay: Bounce.Delay(interval: interval, retryUntil: retryUntil))
        guard let content else { return }
        let point = message.created + Int64(interval)
        let said = Bounce.duration(Int64(interval))
        submitBounce(sender, content) { [self] stored in
            let present = state.withLock { state -> Bool in
                guard var entry = state.entries[name] else { return false }
                entry.warning.subtract(indexes)
                if stored {
                    for i in indexes {
                        entry.message.recipients[i].lastWarning = max(
                            entry.message.recipients[i].lastWarning, point)
                    }
                }
                state.entries[name] = entry
                return true
            }
            if stored {
                configuration.log(
                    "info: queue: \(name): delay warning (\(said)) to <\(sender)> queued")
                if present { persist(name) }
            } else {
                configuration.log(
                    "warn: queue: \(name): delay warning to <\(sender)> not stored, due again")
            }
        }
    }

    /// Writes the current state of `name` to its spool file.
    private func persist(_ name: String) {
        persisting.withLock { _ in
            guard let message = state.withLock({ $0.entries[name]?.message }) else { return }
            do {
                try spool.rewrite(name, envelope: QueueFileCodec.envelope(message))
            } catch {
                // The old state stays on disk: at worst a recipient is tried again.
                configuration.log("warn: queue: cannot update \(name): \(error)")
            }
        }
    }

    /// Every recipient is done: bounce the failed ones (once the bounce is durable), then
    /// remove the message.
    private func finalize(_ name: String) {
        guard let message = state.withLock({ $0.entries[name]?.message }) else { return }
        let failures = message.recipients.filter {
            $0.state == .failed && Bounce.wantsFailureNotice($0)
        }.map { r in
            let remote = remoteName(in: r.lastError)
            let diagnostic =
                remote.map { String(r.lastError.dropLast(" (from \($0))".count)) } ?? r.lastError
            return Bounce.Failure(
                recipient: r, status: Bounce.status(of: diagnostic), diagnostic: diagnostic,
                remoteMTA: remote)
        }
        let content = Bounce.compose(
            for: message, original: original(name, message), failures: failures,
            reportingMTA: configuration.serverName,
            now: Clock.unixSeconds(), notificationID: QueueFileCodec.hex(randomID()))
        guard let content, case .address(let sender) = message.sender else {
            if !failures.isEmpty {
                configuration.log("info: queue: \(name): failed recipients of <> are not bounced")
            }
            removeMessage(name)
            return
        }
        submitBounce(sender, content) { [self] stored in
            if stored {
                state.withLock { $0.bounced += 1 }
                configuration.log("info: queue: \(name): bounce to <\(sender)> queued")
                removeMessage(name)
            } else {
                configuration.log(
                    "warn: queue: \(name): bounce to <\(sender)> not stored, will retry")
                state.withLock {
                    $0.entries[name]?.finalizing = false
                    $0.entries[name]?.nextFinalize =
                        Clock.unixSeconds() + Int64(configuration.retryMin)
                }
            }
        }
    }

    /// What a notice about `message` quotes: the whole message with RET=FULL, else its
    /// header section (read up to the empty line, at most `headerLimit`). A spool file that
    /// cannot be read gives what could be read, said in the log: the notice still goes out.
    private func original(_ name: String, _ message: QueuedMessage) -> [UInt8] {
        do {
            let content = try spool.content(name)
            if message.dsn.ret == .full { return try content.all() }
            var bytes: [UInt8] = []
            while bytes.count < Self.headerLimit && bytes.count < content.count {
                let from = max(0, bytes.count - 1)
                bytes += try content.read(at: bytes.count, count: 4096)
                if bytes[from...].firstRange(of: [10, 10]) != nil || bytes.first == 10 { break }
            }
            return Bounce.header(of: bytes)
        } catch {
            configuration.log("warn: queue: \(name): the notice quotes nothing: \(error)")
            return []
        }
    }

    /// The most of a header section a notice quotes.
    static let headerLimit = 1 << 20

    private func remoteName(in error: String) -> String? {
        guard let open = error.firstRange(of: "(from "), error.hasSuffix(")") else { return nil }
        return String(error[open.upperBound..<error.index(before: error.endIndex)])
    }

    private func removeMessage(_ name: String) {
        persisting.withLock { _ in
            do {
                try spool.remove(name)
            } catch {
                configuration.log("warn: queue: cannot remove \(name): \(error)")
            }
            _ = state.withLock { $0.entries.removeValue(forKey: name) }
        }
    }
}

/// A random 32-bit id (notification ids), from the kernel (SystemRandomNumberGenerator).
func randomID() -> UInt32 { UInt32.random(in: .min ... .max) }
