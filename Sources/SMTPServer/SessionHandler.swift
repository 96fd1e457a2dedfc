import Glibc
import LinuxSystem
import MaildirDelivery
import Reactor
import SMTPConfig
import SMTPProtocol
import SessionTranscript
import Synchronization

/// Joins one connection to one SMTP session on the connection's loop: bytes go into the
/// session, its replies go out, its messages go to the store, and the store's answer comes
/// back to the session on the same loop. Loop-confined: it is Sendable only so that the
/// store's completion can carry it back to its loop through `execute`.
final class SessionHandler: ConnectionHandler, @unchecked Sendable {
    private let core: ServerCore
    private var session: SMTPSession
    private var connection: Connection?
    private var peerFinished = false
    private var deliveryStarted: UInt64 = 0
    private let tls: TLSContext?
    private var delivering = false
    /// The server is stopping: once no delivery is in flight, say so and close.
    private var shuttingDown = false
    /// A close is under way (after QUIT, an error, or the shutdown notice).
    private var closing = false
    private var deadlines: SessionDeadlines
    /// The timer that checks `deadlines` (`armDeadlineTimer`).
    private var deadlineTimer: LoopTimer?
    /// The timer of a fault rule's `.delay`.
    private var faultTimer: LoopTimer?
    /// This session's transcript (nil: none configured, or dropped at the start).
    private var transcript: TranscriptCapture?
    /// The transcript says the server's side ended (a close or a reset).
    private var transcriptEnded = false
    /// The streamed delivery of the message being received (`pumpContent`).
    private var stream: StreamSlot?
    /// How the message being received reaches the store (nil: not decided yet); `.whole`
    /// too for a message that will be refused.
    private var intake: MessageIntake?
    /// With `recordsMessages`: the stored bytes already streamed, for the feed.
    private var recorded: [UInt8] = []
    /// Chunks handed to the stream writer and not yet written: at `maxQueuedChunks` the
    /// session stops reading until the disk has caught up (back-pressure).
    private var queuedChunks = 0
    static let maxQueuedChunks = 4
    /// Stored bytes a session gathers before they go to its stream: with the loop's read
    /// buffer, the bound of what a session holds of a message, whatever its size.
    static let streamChunk = 64 << 10
    /// Stored bytes that must wait before a message opens its stream: a message within them
    /// goes whole to the writer's batch at its dot, the fast path (BENCHMARKS.md, "One flush
    /// per message"); past them it streams in chunks of `streamChunk`.
    static let streamOpening = 128 << 10

    /// Who checks AUTH credentials on this listener, and how long a failure may wait.
    struct Credentials: Sendable {
        var checker: any CredentialChecker
        var failureDelaySeconds: Double
    }
    private let credentials: Credentials?
    /// The address the per-address limit counted this session under, when it is not the TCP
    /// peer (`proxy-v2`: the client the PROXY header named).
    var accountedPeer: String?

    init(
        core: ServerCore, session: SMTPSession, tls: TLSContext?, timeouts: SMTPTimeouts,
        credentials: Credentials?
    ) {
        self.core = core
        self.session = session
        self.tls = tls
        self.credentials = credentials
        deadlines = SessionDeadlines(timeouts, now: Clock.monotonicNanoseconds())
    }

    func begin(on connection: Connection, listener: ListenerPlan) {
        self.connection = connection
        if let recorder = core.transcripts {
            transcript = TranscriptCapture(
                recorder: recorder, sessionID: session.id, peer: connection.peer.description,
                listener: listener.address.description, serverName: listener.serverName,
                log: { [core] in core.log([$0], on: connection.loop) })
        }
        if core.trace {
            core.log(
                [
                    "smtp: 0x\(session.id.suffix(12)): connected to listener 0x\(listener.traceID) "
                        + "[hostname=\(listener.serverName), port=\(listener.address.port), tag=\(listener.tag ?? "")]"
                ], on: connection.loop)
        }
        handle(session.start())
        armDeadlineTimer(on: connection.loop)
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        if deadlines.dataStarted == nil {
            deadlines.received(bytes, at: Clock.monotonicNanoseconds())
        }
        // Without a transcript, no copy of the bytes.
        if transcript != nil { record(.data(.client, Array(bytes))) }
        handle(session.receive(bytes))
    }

    func inputEnded(on connection: Connection) {
        peerFinished = true
        record(.closed(by: .client))
        // With a delivery pending, the client may still be owed the reply to its final dot
        // and to commands it pipelined before closing its side: answer them first.
        if session.wantsInput { handle(session.inputClosed()) }
    }

    func idle(_ connection: Connection) {
        // A pending delivery is the server's delay, not the client's.
        if session.wantsInput { handle(session.timedOut()) }
    }

    func tlsEstablished(_ info: TLSConnectionInfo, on connection: Connection) {
        record(.tls("\(info.version) \(info.cipher) \(info.bits)"))
        handle(
            session.tlsEstablished(protocol: info.version, cipher: info.cipher, bits: info.bits))
    }

    func tlsFailed(_ error: TLSError, on connection: Connection) {
        handle(session.tlsFailed("\(error)"))
        record(.closed(by: .server))
        connection.close(afterFlush: true)
    }

    private func startTLS(on connection: Connection) {
        do {
            guard let tls else {
                throw TLSError("STARTTLS", reason: "no TLS context on this listener")
            }
            try connection.startTLS(context: tls)
        } catch {
            handle(session.tlsFailed("\(error)"))
        }
    }

    func closed(_ connection: Connection) {
        // However the connection ended (a peer's reset, a write error), the server's side
        // is closed now: every transcript ends with the server's close.
        record(.closed(by: .server))
        self.connection = nil
        deadlineTimer?.cancel()
        deadlineTimer = nil
        faultTimer?.cancel()
        faultTimer = nil
        if session.wantsInput { _ = session.inputClosed() }
        abortStream()
        transcript?.finish()
        transcript = nil
        if core.verbose.load(ordering: .relaxed) {
            core.log(["debug: smtp: session \(session.id): closed"], on: connection.loop)
        }
        core.sessionEnded(self, peer: accountedPeer ?? connection.peer.host, on: connection.loop)
    }

    /// The server is stopping: say so and close. A delivery in flight is answered first
    /// (its final dot may have arrived after `stop` stopped waiting for deliveries), so a
    /// client is never told 421 for a message that is then stored.
    func shutdownNotice() {
        shuttingDown = true
        if !delivering { sendShutdownNotice() }
    }

    /// The server stops now: close without waiting for pending output.
    func closeNow() {
        closing = true
        record(.closed(by: .server))
        connection?.close(afterFlush: false)
    }

    private func sendShutdownNotice() {
        guard let connection, !closing else { return }
        closing = true
        write(
            Array("421 4.3.0 \(core.serverName(for: connection)) Server shutting down\r\n".utf8),
            on: connection)
        record(.closed(by: .server))
        connection.close(afterFlush: true)
    }

    private func handle(_ events: [SessionEvent]) {
        guard let connection else { return }
        var output: [UInt8] = []
        var logLines: [String] = []
        defer { if !logLines.isEmpty { core.log(logLines, on: connection.loop) } }
        for event in events {
            switch event {
            case .reply(let bytes):
                if output.isEmpty { output = bytes } else { output.append(contentsOf: bytes) }
                if bytes.starts(with: Self.dataReply) {
                    deadlines.dataBegan(at: Clock.monotonicNanoseconds())
                } else if deadlines.dataStarted != nil {
                    deadlines.dataEnded()  // the message was refused or the session ends
                }
            case .deliver(let message):
                deadlines.dataEnded()
                if let stream {
                    self.stream = nil
                    commit(message, to: stream, loop: connection.loop)
                } else {
                    // Never streamed (short, discarded or whole): the content is all here but
                    // for discarded chunks, which only the feed keeps.
                    var whole = message
                    if !recorded.isEmpty { whole.content = recorded + message.content }
                    recorded = []
                    deliver(whole, loop: connection.loop)
                }
            case .close:
                write(output, on: connection)
                output = []
                closing = true
                record(.closed(by: .server))
                connection.close(afterFlush: true)
            case .log(let line), .trace(let line):
                logLines.append(line)
            case .authenticate(let request):
                authenticate(request, loop: connection.loop)
            case .startTLS:
                // The 220 goes out in plaintext before the handshake starts.
                write(output, on: connection)
                output = []
                startTLS(on: connection)
            case .delay(let nanoseconds):
                write(output, on: connection)
                output = []
                faultTimer = connection.loop.schedule(after: nanoseconds) { [weak self] in
                    self?.faultDelayElapsed()
                }
            case .reset:
                write(output, on: connection)
                output = []
                closing = true
                record(.reset)
                resetConnection(connection)
            }
        }
        if !output.isEmpty { write(output, on: connection) }
        pumpContent()
        connection.setReading(readingWanted)
    }

    /// Writes the server's bytes, and records them first.
    private func write(_ bytes: [UInt8], on connection: Connection) {
        if transcript != nil && !bytes.isEmpty { record(.data(.server, bytes)) }
        connection.write(bytes)
    }

    private func record(_ entry: TranscriptEntry) {
        guard transcript != nil, !transcriptEnded, let loop = connection?.loop else { return }
        if entry == .closed(by: .server) || entry == .reset { transcriptEnded = true }
        transcript?.record(entry) { [core] in core.log([$0], on: loop) }
    }

    private static let dataReply = Array("354 ".utf8)

    private func faultDelayElapsed() {
        faultTimer = nil
        guard connection != nil, !closing else { return }
        handle(session.delayElapsed())
        if peerFinished && session.wantsInput { handle(session.inputClosed()) }
    }

    /// An abortive close: with `SO_LINGER` 0, `close` sends RST instead of FIN.
    private func resetConnection(_ connection: Connection) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        do {
            _ = try checkedCall("setsockopt SO_LINGER", "session \(session.id)") {
                setsockopt(
                    connection.fd, SOL_SOCKET, SO_LINGER, &linger,
                    socklen_t(MemoryLayout<Glibc.linger>.size))
            }
        } catch {
            // The close then sends FIN: the client sees a disconnect, not a reset.
            core.log(["warn: \(error)"], on: connection.loop)
        }
        connection.close(afterFlush: false)
    }

    /// One timer, armed for `SessionDeadlines.wakeUp(at:)`: a clock that starts later cannot
    /// end before it, so commands and messages never move it (a timer per command was a
    /// visible share of a message's instructions: BENCHMARKS.md, "Third round").
    private func armDeadlineTimer(on loop: EventLoop) {
        guard !closing else { return }
        let now = Clock.monotonicNanoseconds()
        let at = deadlines.wakeUp(at: now)
        // A strong capture: `closed` cancels the timer, and a cancel drops the closure. A weak
        // one gave every session a side table, and every retain of it the slow path.
        deadlineTimer = loop.schedule(after: at > now ? at - now : 0) { [self] in
            deadlineReached(on: loop)
        }
    }

    private func deadlineReached(on loop: EventLoop) {
        deadlineTimer = nil
        guard connection != nil, !closing else { return }
        let now = Clock.monotonicNanoseconds()
        guard let kind = deadlines.expired(at: now) else {
            armDeadlineTimer(on: loop)
            return
        }
        if !session.wantsInput {
            // A delivery is pending: the server's delay, not the client's. Look again soon.
            deadlineTimer = loop.schedule(after: 1_000_000_000) { [self] in
                deadlineReached(on: loop)
            }
            return
        }
        core.log(["\(session.id) smtp timeout=\(kind.rawValue) exceeded"], on: loop)
        handle(session.timedOut())
    }

    /// Checks the credentials on a thread of their own (a bcrypt check takes a visible time
    /// and must not hold up the loop's other sessions), then answers the session on its loop.
    /// A failure waits a random share of `failureDelaySeconds` first, as OpenSMTPD does.
    private func authenticate(_ request: AuthenticationRequest, loop: EventLoop) {
        guard let credentials else {
            handle(session.authenticationFinished(.temporaryFailure))
            return
        }
        do {
            try SystemThread.start(name: "smtpd-auth", detached: true) { [self] in
                let result = credentials.checker.check(request)
                if result == .rejected && credentials.failureDelaySeconds > 0 {
                    Clock.sleep(seconds: Double.random(in: 0..<credentials.failureDelaySeconds))
                }
                loop.execute { [self] in
                    handle(session.authenticationFinished(result))
                    if peerFinished && session.wantsInput { handle(session.inputClosed()) }
                }
            }
        } catch {
            core.log(["warn: cannot start an authentication thread: \(error)"], on: loop)
            handle(session.authenticationFinished(.temporaryFailure))
        }
    }

    /// Streaming delivery: opens the store's stream once a message's first chunk is due and
    /// hands it the stored form in chunks of `streamChunk`; a message that ends without `.deliver`
    /// (refused after its dot, a fault's loss, RSET, the peer gone) is aborted: nothing of it
    /// stays in tmp/. A message that ends within its first chunk (most mail) never opens one:
    /// it is stored whole at its dot, in the writer's group commit, with no stream writer
    /// between its dot and its flush (BENCHMARKS.md, "Where the flush wait goes").
    ///
    /// The stream is opened (the walk and an O_EXCL create), written, committed and aborted
    /// on the `StreamWriter`, in order; the loop only asks the store whether it streams.
    private func pumpContent() {
        // Between messages (most calls) there is nothing to end or to take.
        if intake == nil && stream == nil && recorded.isEmpty && !session.messageInProgress {
            return
        }
        guard session.messageInProgress else {
            abortStream()
            intake = nil
            recorded = []
            return
        }
        guard intake != .whole else { return }
        if session.messageRefused {
            // Answered with its 5xx at the end: what was written goes now.
            abortStream()
            intake = .whole
            recorded = []
            return
        }
        if intake == nil {
            guard let envelope = session.messageEnvelope else { return }
            intake = core.store.intake(for: envelope.recipients)
            if intake == .whole { return }
        }
        // Nothing moves before a whole chunk waits: a message shorter than one goes whole
        // to `deliver`, and the writer creates and writes it in its batch (a stream for every
        // message cost thread hops and a create apart from the batch: BENCHMARKS.md, "Third
        // round"). A mutating take: reading the pending count through a getter copied the
        // whole session.
        guard
            let bytes = session.takeStoredBytes(
                atLeast: stream == nil ? Self.streamOpening : Self.streamChunk)
        else { return }
        if core.recordsMessages { recorded += bytes }
        guard intake == .streamed else { return }  // discarded: dropped as it arrives
        if stream == nil {
            guard let envelope = session.messageEnvelope else { return }
            let slot = StreamSlot()
            let store = core.store
            core.streamWriter.run {
                slot.stream = store.beginStream(envelope)
            }
            stream = slot
        }
        write(bytes)
    }

    /// Input is taken while the session wants it and the stream writer keeps up.
    private var readingWanted: Bool {
        session.wantsInput && queuedChunks < Self.maxQueuedChunks
    }

    /// Hands a chunk to the stream writer; reading pauses while too many wait.
    private func write(_ bytes: [UInt8]) {
        guard let stream, let loop = connection?.loop else { return }
        queuedChunks += 1
        core.streamWriter.run { [self] in
            stream.stream?.write(bytes)
            loop.execute { [self] in chunkWritten() }
        }
    }

    private func chunkWritten() {
        queuedChunks -= 1
        guard let connection, !closing else { return }
        connection.setReading(readingWanted)
    }

    private func abortStream() {
        guard let stream else { return }
        self.stream = nil
        core.streamWriter.run {
            stream.stream?.abort()
            stream.stream = nil
        }
    }

    private func commit(_ message: Message, to slot: StreamSlot, loop: EventLoop) {
        var whole = message
        if core.recordsMessages {
            whole.content = recorded + message.content
        }
        recorded = []
        core.deliveryStarted()
        delivering = true
        deliveryStarted = Clock.monotonicNanoseconds()
        let rest = message.content
        let dot = FlushTrace.Message()
        // With every chunk written and the stream open, the loop commits itself: one thread
        // hop less before the flush (the Maildir writer appends `rest`, off the loop).
        if queuedChunks == 0, let stream = slot.take(where: \.takesTailWithCommit) {
            var trace = dot
            trace.handed = FlushTrace.now()
            stream.commit(appending: rest) { [self, whole, trace] result in
                var posted = trace
                posted.posted = FlushTrace.now()
                loop.execute { [self, posted] in
                    finishDelivery(whole, result: result, loop: loop, trace: posted)
                }
            }
            return
        }
        core.streamWriter.run { [self, whole] in
            guard let stream = slot.stream else {
                // `streams` said yes and `beginStream` no: not stored, the client may retry.
                let failure = SystemError("deliver", "stream", errno: EIO)
                loop.execute { [self] in
                    finishDelivery(whole, result: .failure(failure), loop: loop)
                }
                return
            }
            slot.stream = nil
            stream.write(rest)
            var trace = dot
            trace.handed = FlushTrace.now()
            stream.commit { [self, whole, trace] result in
                var posted = trace
                posted.posted = FlushTrace.now()
                loop.execute { [self, posted] in
                    finishDelivery(whole, result: result, loop: loop, trace: posted)
                }
            }
        }
    }

    private func deliver(_ message: Message, loop: EventLoop) {
        core.deliveryStarted()
        delivering = true
        deliveryStarted = Clock.monotonicNanoseconds()
        var trace = FlushTrace.Message()
        trace.handed = trace.dot
        core.store.deliver(message) { [self, trace] result in
            var posted = trace
            posted.posted = FlushTrace.now()
            loop.execute { [self, posted] in
                finishDelivery(message, result: result, loop: loop, trace: posted)
            }
        }
    }

    private func finishDelivery(
        _ message: Message, result: Result<[String], SystemError>, loop: EventLoop,
        trace: FlushTrace.Message = FlushTrace.Message(dot: 0)
    ) {
        var trace = trace
        trace.resumed = FlushTrace.now()
        defer { if trace.dot != 0 { trace.emit() } }
        let seconds = (Clock.monotonicNanoseconds() - deliveryStarted) / 1_000_000_000
        let outcome: DeliveryOutcome
        switch result {
        case .success(let files):
            // Relayed recipients are not delivered yet: as OpenSMTPD, the message is logged
            // as queued (`smtp message … nrcpt=`), and the queue logs each delivery later.
            let relayed = message.recipients.count { $0.route.relays }
            var lines: [String] = []
            lines.reserveCapacity(message.recipients.count - relayed + 1)
            if relayed > 0 {
                lines.append(
                    "\(session.id) smtp message msgid=\(message.id) size=\(message.size) "
                        + "nrcpt=\(relayed) proto=\(message.protocolName) result=Ok stat=Queued")
            }
            // Appended piece by piece into reserved room, as the session's own log lines:
            // interpolation was a visible share of a message's instructions.
            var prefix = session.id
            prefix.reserveCapacity(prefix.utf8.count + 64 + message.id.utf8.count + 320)
            prefix += " mda delivery msgid="
            prefix += message.id
            prefix += " from=<"
            prefix += message.sender.description
            prefix += "> to=<"
            var suffix = " delay="
            suffix += String(seconds)
            suffix += "s result=Ok stat=Delivered"
            for recipient in message.recipients where !recipient.route.relays {
                var line = prefix
                line += recipient.original
                line += "> rcpt=<"
                line += recipient.address.description
                line += "> user="
                line += recipient.route.user
                line += suffix
                lines.append(line)
            }
            core.log(lines, on: loop)
            if core.recordsMessages { core.feed.publish(DeliveredMessage(message, files: files)) }
            core.recipientsDelivered.add(message.recipients.count, ordering: .relaxed)
            outcome = .delivered
        case .failure(let error):
            let failure = DeliveryFailure(storing: error)
            let result = failure.isTemporary ? "TempFail" : "PermFail"
            if failure.isTemporary {
                core.recipientsTempFailed.add(message.recipients.count, ordering: .relaxed)
            } else {
                core.recipientsPermFailed.add(message.recipients.count, ordering: .relaxed)
            }
            core.log(
                [
                    "\(session.id) mda delivery msgid=\(message.id) result=\(result) stat=Error (\(error))"
                ],
                on: loop)
            outcome = .failed(failure)
        }
        core.deliveryFinished()
        delivering = false
        handle(session.deliveryFinished(outcome))
        if peerFinished && session.wantsInput { handle(session.inputClosed()) }
        if shuttingDown && !delivering { sendShutdownNotice() }
    }
}

/// A session's streamed delivery while it is under way: made, written, committed or aborted
/// only on the `StreamWriter` thread, in the order the session asked.
/// The session's loop takes the stream from it only for the commit, once nothing of the
/// session is queued on the stream writer.
final class StreamSlot: Sendable {
    private let held = Mutex<(any MessageStream)?>(nil)

    var stream: (any MessageStream)? {
        get { held.withLock { $0 } }
        set { held.withLock { $0 = newValue } }
    }

    /// The stream, if it is open and `wanted`, leaving the slot empty.
    func take(where wanted: (any MessageStream) -> Bool) -> (any MessageStream)? {
        held.withLock { stream in
            guard let open = stream, wanted(open) else { return nil }
            stream = nil
            return open
        }
    }
}
