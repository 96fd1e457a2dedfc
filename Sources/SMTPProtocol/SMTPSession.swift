/// One SMTP server session as a pure state machine: bytes in, events out.
///
/// Behaves like OpenSMTPD 6.8's `smtp_session.c` (replies in the 6.6+ form) with the
/// departures listed in docs/ARCHITECTURE.md, each written where its limit or flag lives.
/// No I/O, clock or randomness of its own: `SessionEnvironment` supplies both.
///
/// Any split of the input gives the same events. While a `.deliver` is outstanding, input is
/// buffered and processed after `deliveryFinished`, so pipelined commands never run before
/// the message they follow is answered.
public struct SMTPSession {
    /// OpenSMTPD's session states, named as its `-T smtp` trace prints them.
    enum State: String {
        case new = "STATE_NEW"
        case connected = "STATE_CONNECTED"
        case tls = "STATE_TLS"
        case helo = "STATE_HELO"
        case authInit = "STATE_AUTH_INIT"
        case authUsername = "STATE_AUTH_USERNAME"
        case authPassword = "STATE_AUTH_PASSWORD"
        case authFinalize = "STATE_AUTH_FINALIZE"
        /// MailLab: the bytes of a BDAT chunk (OpenSMTPD has no CHUNKING).
        case bdat = "STATE_BDAT"
        case body = "STATE_BODY"
        case quit = "STATE_QUIT"
    }

    /// Fixed by the first line the client sends.
    enum LineMode {
        /// First line ended in CRLF (an MTA): a command ending in bare LF gets
        /// `500 5.5.2 Syntax error: bare <LF> received`, and only `<CRLF>.<CRLF>` (or a dot
        /// line right after DATA) ends DATA; `\n.\n`, `\n.\r\n`, `\r\n.\n`, `\r.\r` are data.
        /// Departure: OpenSMTPD accepts bare LF everywhere.
        case strict
        /// First line ended in bare LF (a person with netcat): LF ends lines and a lone "."
        /// ends DATA. Smuggling needs a relaying MTA, and MTAs send CRLF.
        case lenient
    }

    /// Exists only from MAIL to the end of DATA.
    struct Transaction {
        var messageID: UInt64
        var sender: ReversePath
        var recipients: [AcceptedRecipient] = []
        var envelopeIDs: [UInt64] = []
        var recipientKeys: Set<String> = []
        /// RCPT commands that passed their checks: what a fault rule's recipient number counts.
        var rcptCount = 0
        /// MAIL had `SMTPUTF8`: UTF-8 addresses allowed, `UTF8SMTP` in `Received:`.
        var smtputf8 = false
        /// MAIL had `BODY=BINARYMIME`: only BDAT may carry the message.
        var binaryMIME = false
        /// MAIL's RET= and ENVID=.
        var dsn = DSNRequest()

        var messageIDText: String { Hex.string(messageID, digits: 8) }
    }

    /// Per-message DATA state, kept apart from `Transaction` so appends stay in place.
    struct DataPhase {
        var content: MessageContent
        var countedSize = 0
        var error: MessageError?
        var previousLineEndedCRLF = true
        /// BDAT: the bytes after the last LF, continued by the next chunk.
        var partialLine: [UInt8] = []
        /// BDAT in the body: the start of the current line is already stored (a long line
        /// is not held whole), so the line still ends with an LF at LAST.
        var bodyLineOpen = false
    }

    let configuration: SessionConfiguration
    let peer: PeerInfo
    let policy: any RecipientPolicy
    let environment: SessionEnvironment

    /// 16 lowercase hex digits; prefixes every log line of the session.
    public private(set) var id: String
    let idValue: UInt64

    var state = State.new
    var framer: LineFramer
    var lineMode: LineMode?
    var heloName: String?
    var extended = false
    @OutOfLine var transaction: Transaction?
    @OutOfLine var data: DataPhase?
    @OutOfLine var pendingDelivery: Message? { didSet { updateWantsInput() } }
    var messageCount = 0
    var errorCount = 0
    var lastCommand: [UInt8] = []
    var closed = false { didSet { updateWantsInput() } }
    var events: [SessionEvent] = []
    /// Set between `.startTLS` and `tlsEstablished`: input is discarded meanwhile.
    var awaitingTLS = false
    var tls: TLSDetails?
    var bannerSent = false
    /// The user name (as logged) while an `.authenticate` is outstanding; input waits.
    var pendingAuthentication: String? { didSet { updateWantsInput() } }
    /// The AUTH LOGIN user name between its 334 and the password.
    var authUser: [UInt8] = []
    /// Set by a 235; the `A` in `ESMTPSA` and what `match auth` sees.
    public internal(set) var authenticatedUser: String?
    var authFailures = 0
    /// The chunk being read: bytes still to come, its size, LAST, and the refusal to
    /// send once its bytes are consumed (a refused chunk is still read, RFC 3030 §2).
    var chunk = Chunk()
    /// This session's fault rules (MailLab fault injection); nil: none. Set before `start`.
    public var faults: SessionFaults?
    /// Set while a fault's `.delay` runs: input waits, `delayElapsed` goes on.
    @OutOfLine var faultPause: FaultPause? { didSet { updateWantsInput() } }
    /// MAIL commands that passed their checks: what a fault rule's message number counts.
    var transactionCount = 0

    /// True under TLS (STARTTLS done, or an SMTPS listener). OpenSMTPD: `SF_SECURE`.
    public var isSecure: Bool { configuration.implicitTLS || tls != nil }

    var limits: SessionLimits { configuration.limits }
    var tracing: Bool { configuration.traceEnabled }
    var serverName: String { configuration.serverName }

    public init(
        configuration: SessionConfiguration, peer: PeerInfo, policy: any RecipientPolicy,
        environment: SessionEnvironment
    ) {
        self.configuration = configuration
        self.peer = peer
        self.policy = policy
        self.environment = environment
        self.idValue = environment.random()
        self.id = Hex.string(idValue, digits: 16)
        self.framer = LineFramer(lineMax: configuration.limits.lineMax)
    }

    /// False while a `.deliver`, `.authenticate` or `.delay` is outstanding or after `.close`: do not read meanwhile.
    /// True while a TLS handshake is pending: the connection must read to complete it.
    /// Stored, not computed: a caller holding the session in a class property reads a field,
    /// where a getter call made it copy the whole session first (16,000 copies per 2,000
    /// messages).
    public private(set) var wantsInput = true

    private mutating func updateWantsInput() {
        wantsInput =
            !closed && $pendingDelivery.isNil && pendingAuthentication == nil && $faultPause.isNil
    }

    /// Banner and the `smtp connected` log line. Call once, first. With `implicitTLS` the
    /// banner waits: `.startTLS` first, the banner after `tlsEstablished`.
    /// OpenSMTPD: `smtp_connected` + `smtp_send_banner`.
    public mutating func start() -> [SessionEvent] {
        guard state == .new, !closed else { return [] }
        enterState(.connected)
        log("smtp connected address=\(peer.address) host=\(peer.hostNameText)")
        if configuration.implicitTLS && tls == nil {
            awaitingTLS = true
            events.append(.startTLS)
            return drainEvents()
        }
        bannerWithFaults()
        return drainEvents()
    }

    mutating func sendBanner() {
        bannerSent = true
        reply("220 \(serverName) ESMTP \(configuration.softwareName)")
        processInput()
    }

    /// Client bytes, split anywhere. OpenSMTPD: `smtp_io` `IO_DATAIN`.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer) -> [SessionEvent] {
        guard !closed else { return [] }
        // Plaintext that follows STARTTLS is never executed (CVE-2011-0411).
        guard !awaitingTLS else { return [] }
        framer.append(bytes)
        processInput()
        return drainEvents()
    }

    /// Client bytes, split anywhere.
    public mutating func receive(_ bytes: [UInt8]) -> [SessionEvent] {
        bytes.withUnsafeBytes { receive($0) }
    }

    /// The answer to the final dot of the message last handed out with `.deliver`; then
    /// input buffered meanwhile is processed. OpenSMTPD: `IMSG_SMTP_MESSAGE_COMMIT`.
    /// Departure: a failed delivery keeps the session open (OpenSMTPD: `421` and close).
    public mutating func deliveryFinished(_ outcome: DeliveryOutcome) -> [SessionEvent] {
        guard let message = pendingDelivery, !closed else {
            pendingDelivery = nil
            return []
        }
        pendingDelivery = nil
        switch outcome {
        case .delivered:
            reply("250 2.0.0 " + message.id + " Message accepted for delivery")
            // Appended piece by piece into reserved room: interpolating the address types
            // was a large share of a message's instructions (BENCHMARKS.md, "Second round").
            var line = "smtp message msgid="
            line.reserveCapacity(96)
            line += message.id
            line += " size="
            line += String(message.size)
            line += " nrcpt="
            line += String(message.recipients.count)
            line += " proto="
            line += message.protocolName
            log(line)
            let envelopeIDs = transaction?.envelopeIDs ?? []
            let sender = message.sender.description
            for (recipient, envelopeID) in zip(message.recipients, envelopeIDs) {
                var line = "smtp envelope evpid="
                line.reserveCapacity(64 + sender.utf8.count + 2 * 64)
                line += Hex.string(envelopeID, digits: 16)
                line += " from=<"
                line += sender
                line += "> to=<"
                line += recipient.address.description
                line += ">"
                log(line)
            }
            messageCount += 1
        case .failed(let failure):
            reply(
                String(failure.code) + " " + failure.enhancedStatus + " "
                    + ASCII.replySafe(failure.text.utf8))
        }
        transaction = nil
        enterState(.helo)
        processInput()
        return drainEvents()
    }

    /// Idle timeout. Departure: OpenSMTPD closes silently; we say why first.
    public mutating func timedOut() -> [SessionEvent] {
        guard !closed else { return [] }
        emitReply("421 4.4.2 \(serverName) Timeout exceeded, closing connection")
        closeSession(reason: "timeout")
        return drainEvents()
    }

    /// The peer closed its side: an open transaction is dropped (nothing is delivered) and the
    /// session ends. A delivery already handed out still completes; its answer is discarded.
    public mutating func inputClosed() -> [SessionEvent] {
        guard !closed else { return [] }
        transaction = nil
        data = nil
        closed = true
        log("smtp disconnected reason=disconnect")
        events.append(.close)
        return drainEvents()
    }

    // MARK: - Input loop

    /// Takes complete lines while the session can act on them.
    mutating func processInput() {
        while !closed && $pendingDelivery.isNil && pendingAuthentication == nil && state != .new
            && !awaitingTLS && $faultPause.isNil
        {
            if state == .bdat {
                guard chunkBytes() else { return }
                continue
            }
            switch framer.next() {
            case .needMore:
                return
            case .tooLong:
                reply("500 5.0.0 Line too long", badInput: true)
                closeSession(reason: "quit")
                return
            case .line(let line, let endedWithCRLF):
                if lineMode == nil {
                    lineMode = endedWithCRLF ? .strict : .lenient
                }
                if state == .body {
                    dataLine(line, endedWithCRLF: endedWithCRLF)
                } else {
                    commandLine(line, endedWithCRLF: endedWithCRLF)
                }
                if !closed && errorCount >= limits.maxErrors {
                    emitReply("421 4.7.0 \(serverName) Too many errors, closing connection")
                    closeSession(reason: "quit")
                }
            }
        }
    }

    // MARK: - Events

    /// Every state change goes through here, so the trace shows it. OpenSMTPD:
    /// `smtp_enter_state`.
    mutating func enterState(_ newState: State) {
        if tracing { trace("\(tracePrefix)\(state.rawValue) -> \(newState.rawValue)") }
        state = newState
    }

    /// A reply to the client; 4xx/5xx count as errors and are logged as OpenSMTPD's
    /// `smtp_reply` does (`failed-command`, or `bad-input` for framing errors).
    mutating func reply(_ text: String, badInput: Bool = false) {
        let line = emitReply(text)
        guard let first = line.utf8.first, first == UInt8(ascii: "4") || first == UInt8(ascii: "5")
        else { return }
        errorCount += 1
        if badInput {
            log("smtp bad-input result=\"\(line)\"")
        } else {
            log(
                "smtp failed-command command=\"\(ASCII.visible(lastCommand))\" result=\"\(line)\"")
        }
    }

    /// Writes one reply line, cut to `replyLineMax` with its CRLF.
    @discardableResult
    mutating func emitReply(_ text: String) -> String {
        let line =
            text.utf8.count <= limits.replyLineMax - 2
            ? text : ASCII.string(text.utf8.prefix(limits.replyLineMax - 2))
        if tracing { trace("\(tracePrefix)>>> \(line)") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(line.utf8.count + 2)
        bytes += line.utf8
        bytes.append(ASCII.cr)
        bytes.append(ASCII.lf)
        events.append(.reply(bytes))
        return line
    }

    mutating func closeSession(reason: String) {
        if state != .quit { enterState(.quit) }
        transaction = nil
        data = nil
        log("smtp disconnected reason=\(reason)")
        events.append(.close)
        closed = true
    }

    mutating func log(_ text: String) {
        var line = ""
        line.reserveCapacity(id.utf8.count + 1 + text.utf8.count)
        line += id
        line += " "
        line += text
        events.append(.log(line))
    }

    /// Callers on hot paths check `tracing` first: building the text for every reply and
    /// state change when nobody traces was a large share of a message's instructions
    /// (BENCHMARKS.md, "Findings of the first round").
    mutating func trace(_ text: String) {
        if tracing { events.append(.trace(text)) }
    }

    /// `smtp: 0x…: ` — OpenSMTPD prints the session pointer; we print the low 48 bits of the id.
    var tracePrefix: String {
        "smtp: 0x\(Hex.string(idValue & 0xFFFF_FFFF_FFFF, digits: 12)): "
    }

    mutating func drainEvents() -> [SessionEvent] {
        defer { events = [] }
        return events
    }
}
