import Glibc
import LinuxSystem
import Reactor
import SMTPClient
import SMTPProtocol
import Synchronization

/// Where the recipients of one relay action go.
public struct RelayRoute: Sendable, Equatable {
    public enum NextHop: Sendable, Equatable {
        /// `relay host URL`: always this host and port.
        case host(String, port: UInt16)
        /// `relay` alone: the recipient domain's exchangers (`MailExchangerLookup`).
        case mailExchangers
    }
    public var nextHop: NextHop
    /// EHLO name (`helo`); nil: the server's name.
    public var helo: String?
    /// STARTTLS: when offered (`smtp://`), required (`smtp+tls://`) or never.
    public var tls: RelayClientSession.TLSPolicy
    /// TLS from the first byte (`smtps://`).
    public var smtps: Bool
    /// `auth <table>`: what the URL's label maps to; sent only over TLS.
    public var credentials: RelayClientSession.Credentials?
    /// `src ADDRESS`: the local address connections to the next hop come from.
    public var source: String?

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
        /// Relay action name → where its recipients go.
        public var routes: [String: RelayRoute]
        /// EHLO name and the name in bounces.
        public var serverName: String
        /// Seconds before the first retry, doubled per attempt up to `retryMax`.
        public var retryMin = 60
        public var retryMax = 3_600
        public var maxConnectionsPerDestination = 4
        public var connectTimeout: Double = 30
        /// Per reply (RFC 5321 §4.5.3.2 asks for minutes; the next hop is in a lab).
        public var replyTimeout: Double = 300
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
    }

    private struct Job {
        var name: String
        var indexes: [Int]
    }

    private struct Destination {
        var jobs: [Job] = []
        var workers = 0
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
    }

    public let configuration: Configuration
    private let spool: QueueSpool
    /// The client side of STARTTLS and SMTPS (nil if OpenSSL refused to make one: TLS
    /// sessions then fail temporarily, saying so).
    private let tlsContext: TLSContext?
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
        spool = try QueueSpool(root: configuration.spool)
        do {
            tlsContext = try TLSContext(client: nil)
        } catch {
            configuration.log("warn: queue: no client TLS: \(error)")
            tlsContext = nil
        }
        var entries: [String: Entry] = [:]
        for name in try spool.names() {
            do {
                let message = try QueueFileCodec.decode(try spool.read(name))
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
        state.withLock { $0.entries = entries }
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
                            expires: m.expires, lastTry: r.lastTry, nextTry: r.nextTry,
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
        case .host(let host, let port):
            let address = host.contains(":") ? "[\(host)]" : host
            return "smtp://\(address):\(port)"
        case .mailExchangers: return recipient.address.domain.lowercased()
        }
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
                if entry.message.expires <= now {
                    for i in entry.message.recipients.indices
                    where entry.message.recipients[i].state == .pending
                        && !entry.inFlight.contains(i)
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
                        byDestination[jobKey(of: r), default: []].append(i)
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
            for (key, destination) in state.destinations {
                let wanted = min(
                    destination.jobs.count,
                    configuration.maxConnectionsPerDestination - destination.workers)
                guard wanted > 0 else { continue }
                state.destinations[key]!.workers += wanted
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
                guard !state.stopping, !(state.destinations[key]?.jobs.isEmpty ?? true) else {
                    return nil
                }
                return state.destinations[key]!.jobs.removeFirst()
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
                    state.running -= 1
                    return true
                }
                if exited { return }
                continue
            }
            deliver(job, over: &connection)
            idleSince = Clock.monotonicSeconds()
        }
    }

    private enum Outcome {
        case delivered
        case deferred(String)
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
                message, recipients, route: route, domain: first.address.domain,
                connection: &connection)
        } else {
            outcomes = Array(
                repeating: .deferred(
                    "4.3.0 no relay action \"\(first.action)\" in the configuration"),
                count: recipients.count)
        }
        record(job, outcomes)
    }

    private func attempt(
        _ message: QueuedMessage, _ recipients: [QueuedRecipient], route: RelayRoute,
        domain: String, connection: inout RelayConnection?
    ) -> [Outcome] {
        func all(_ outcome: Outcome) -> [Outcome] {
            Array(repeating: outcome, count: recipients.count)
        }
        if connection == nil || connection?.isUsable != true {
            let endpoints: [RelayConnection.Endpoint]
            switch route.nextHop {
            case .host(let host, let port):
                endpoints = [RelayConnection.Endpoint(host: host, port: port)]
            case .mailExchangers:
                guard let lookup = configuration.exchangers else {
                    return all(.deferred("4.4.3 no MX lookup configured for \(domain)"))
                }
                do {
                    endpoints = try lookup.mailExchangers(for: domain)
                        .sorted { $0.preference < $1.preference }
                        .flatMap { mx in
                            mx.addresses.map { RelayConnection.Endpoint(host: $0, port: mx.port) }
                        }
                } catch {
                    let text = "MX lookup for \(domain): \(error.reason)"
                    return all(
                        error.isPermanent
                            ? .failed("5.1.2 " + text, remote: nil) : .deferred("4.4.3 " + text))
                }
            }
            switch RelayConnection.open(
                endpoints, heloName: route.helo ?? configuration.serverName, tls: route.tls,
                smtps: route.smtps, credentials: route.credentials, source: route.source,
                tlsContext: tlsContext,
                connectTimeout: configuration.connectTimeout, timeout: configuration.replyTimeout)
            {
            case .success(let opened):
                connection = opened
                state.withLock { $0.sessions += 1 }
            case .failure(let failure):
                return all(outcome(of: failure.reply, remote: nil))
            }
        }
        guard let session = connection else { return all(.deferred("4.4.1 no connection")) }
        let transaction = RelayClientSession.Transaction(
            sender: message.sender, recipients: recipients.map(\.address),
            recipientDSN: recipients.map(\.dsn), dsn: message.dsn, content: message.content)
        switch session.send(transaction) {
        case .success(let result):
            return result.replies.map { outcome(of: $0, remote: session.endpoint.host) }
        case .failure(let failure):
            connection = nil
            return all(outcome(of: failure.reply, remote: nil))
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
        let finished = state.withLock { state -> Bool in
            guard var entry = state.entries[job.name] else { return false }
            for (index, outcome) in zip(job.indexes, outcomes) {
                entry.inFlight.remove(index)
                var r = entry.message.recipients[index]
                guard r.state == .pending else { continue }  // removed meanwhile
                r.attempts += 1
                r.lastTry = now
                switch outcome {
                case .delivered:
                    r.state = .delivered
                    r.lastError = ""
                    state.delivered += 1
                case .deferred(let text):
                    r.lastError = text
                    let shift = min(r.attempts - 1, 20)
                    let delay = min(configuration.retryMin << shift, configuration.retryMax)
                    r.nextTry = now + Int64(delay)
                    state.deferred += 1
                case .failed(let text, let remote):
                    r.state = .failed
                    r.lastError = remote.map { "\(text) (from \($0))" } ?? text
                }
                entry.message.recipients[index] = r
            }
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
            case .deferred(let text): configuration.log("\(to) deferred: \(text)")
            case .failed(let text, _): configuration.log("\(to) failed: \(text)")
            }
        }
        if finished { finalize(job.name) } else { persist(job.name) }
    }

    /// Writes the current state of `name` to its spool file.
    private func persist(_ name: String) {
        persisting.withLock { _ in
            guard let message = state.withLock({ $0.entries[name]?.message }) else { return }
            do {
                try spool.rewrite(name, QueueFileCodec.encode(message))
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
            for: message, failures: failures, reportingMTA: configuration.serverName,
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
