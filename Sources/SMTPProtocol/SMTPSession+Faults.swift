/// Fault injection in the session: the stages ask `faults` (see FaultRules.swift), and a
/// decision becomes ordinary replies and closes, or `.delay`/`.reset` for the server to carry
/// out. Nothing here runs without a fault plan.
extension SMTPSession {
    /// Work held back by a `.delay`, done by `delayElapsed`.
    enum FaultPause {
        case banner(FaultAction?)
        case command(entry: Int, arguments: [UInt8]?, action: FaultAction?)
        case endOfMessage(Message, FaultAction?)
        /// A delay during the body: then the action, or reading goes on.
        case body(FaultAction?)
        /// A delay at a complete BDAT chunk: then the action, or the chunk's own answer.
        case chunk(FaultAction?)
        /// A throttled reply: what is still to be sent, a piece per `interval`.
        case throttle(remaining: [UInt8], piece: Int, interval: UInt64, closeAfter: Bool)
    }

    /// The wait asked for with `.delay` is over: the held-back reply (or fault) follows and
    /// buffered input is processed.
    public mutating func delayElapsed() -> [SessionEvent] {
        guard !closed, let pause = faultPause else { return [] }
        faultPause = nil
        switch pause {
        case .banner(let action):
            bannerFault(action)
        case .command(let index, let arguments, let action):
            let entry = Self.commands[index]
            if let action {
                commandFault(action, stage: FaultStage(verb: entry.verb)!)
            } else {
                entry.proceed(&self, arguments)
            }
        case .endOfMessage(let message, let action):
            messageFault(action, message: message)
        case .body(let action):
            if let action { commandFault(action, stage: .body) }
        case .chunk(let action):
            chunkFault(action)
        case .throttle(let remaining, let piece, let interval, let closeAfter):
            sendThrottled(remaining, piece: piece, interval: interval, closeAfter: closeAfter)
            // Input waits until the whole reply is out.
            if !$faultPause.isNil { return drainEvents() }
        }
        if !closed && errorCount >= limits.maxErrors {
            emitReply("421 4.7.0 \(serverName) Too many errors, closing connection")
            closeSession(reason: "quit")
        }
        processInput()
        return drainEvents()
    }

    /// Asks the rules of `stage`; logs what fired.
    /// `sender` is given at MAIL, where the transaction does not exist yet; `recipient` at RCPT.
    mutating func decideFault(
        _ stage: FaultStage, sender: String? = nil, recipient: String? = nil,
        bodyBytes: ClosedRange<Int>? = nil
    ) -> FaultDecision? {
        guard faults != nil else { return nil }
        var recipients = transaction?.recipients.map(\.address.description) ?? []
        if let recipient { recipients = [recipient] }
        let context = FaultContext(
            client: peer.address, sender: sender ?? transaction?.sender.description,
            recipients: recipients, message: stage.hasSender ? transactionCount : nil,
            recipientNumber: stage == .rcpt ? (transaction?.rcptCount ?? 0) + 1 : nil,
            bodyBytes: bodyBytes)
        let decision = faults!.decide(stage, context)
        guard !decision.isEmpty else { return nil }
        for note in decision.notes {
            log("smtp fault stage=\(stage.rawValue) session=\(faults!.sessionNumber) \(note)")
        }
        return decision
    }

    /// The banner, or what a `connect` rule puts in its place.
    mutating func bannerWithFaults() {
        guard let decision = decideFault(.connect) else { return sendBanner() }
        if let delay = decision.delay {
            faultPause = .banner(decision.action)
            events.append(.delay(nanoseconds: delay))
            return
        }
        bannerFault(decision.action)
    }

    mutating func bannerFault(_ action: FaultAction?) {
        switch action {
        case nil: sendBanner()
        case .reply(let reply):
            bannerSent = true
            emitFaultReply(reply)
            closeSession(reason: "fault")
        case let action?: commandFault(action, stage: .connect)
        }
    }

    /// A command that passed its checks: proceeds, or the rules of its stage act instead.
    mutating func proceedWithFaults(_ index: Int, arguments: [UInt8]?) {
        let entry = Self.commands[index]
        guard faults != nil, let stage = FaultStage(verb: entry.verb) else {
            return entry.proceed(&self, arguments)
        }
        var sender: String?
        var recipient: String?
        if stage == .mail {
            transactionCount += 1
            sender = parsePath(arguments, allowNull: true)?.path.description
        } else if stage == .rcpt,
            case .address(let address)? = parsePath(arguments, allowNull: false)?.path
        {
            recipient = address.description
        }
        let decision = decideFault(stage, sender: sender, recipient: recipient)
        if stage == .rcpt { transaction?.rcptCount += 1 }
        guard let decision else { return entry.proceed(&self, arguments) }
        if let delay = decision.delay {
            faultPause = .command(entry: index, arguments: arguments, action: decision.action)
            events.append(.delay(nanoseconds: delay))
            return
        }
        if let action = decision.action {
            commandFault(action, stage: stage)
        } else {
            entry.proceed(&self, arguments)
        }
    }

    /// A reply, a disconnect or (at `after-data` only) accept-and-drop, in place of the
    /// stage's own work.
    mutating func commandFault(_ action: FaultAction, stage: FaultStage) {
        switch action {
        case .reply(let reply):
            emitFaultReply(reply)
            if reply.code == 421 { closeSession(reason: "fault") }
        case .disconnect(.fin):
            closeSession(reason: "fault-disconnect")
        case .disconnect(.rst):
            if state != .quit { enterState(.quit) }
            transaction = nil
            data = nil
            log("smtp disconnected reason=fault-reset")
            events.append(.reset)
            closed = true
        case .partialReply(let reply, let count):
            let bytes = Array(reply.wireBytes.prefix(count))
            if tracing { trace("\(tracePrefix)>>> \(ASCII.visible(bytes)) (partial reply)") }
            events.append(.reply(bytes))
            countFaultReply(reply)
            closeSession(reason: "fault-partial-reply")
        case .throttledReply(let reply, let rate):
            if tracing { trace("\(tracePrefix)>>> \(reply.wireLines.last!) (at \(rate) B/s)") }
            countFaultReply(reply)
            let piece = max(1, rate / 10)
            sendThrottled(
                reply.wireBytes, piece: piece,
                interval: UInt64(piece) * 1_000_000_000 / UInt64(rate),
                closeAfter: reply.code == 421 || stage == .connect)
        case .delay, .acceptAndDrop:
            // FaultRule refuses accept-and-drop before the final dot; delays never get here.
            break
        }
    }

    /// One piece of a throttled reply now, the rest after `interval` (a `.delay`).
    mutating func sendThrottled(
        _ bytes: [UInt8], piece: Int, interval: UInt64, closeAfter: Bool
    ) {
        events.append(.reply(Array(bytes.prefix(piece))))
        let remaining = Array(bytes.dropFirst(piece))
        if remaining.isEmpty {
            if closeAfter { closeSession(reason: "fault") }
            return
        }
        faultPause = .throttle(
            remaining: remaining, piece: piece, interval: interval, closeAfter: closeAfter)
        events.append(.delay(nanoseconds: interval))
    }

    /// A reply written by other means than `reply` counts as `reply` counts it.
    mutating func countFaultReply(_ reply: FaultReply) {
        guard reply.code >= 400 else { return }
        errorCount += 1
        log(
            "smtp failed-command command=\"\(ASCII.visible(lastCommand))\" result=\"\(reply.wireLines.last!)\""
        )
    }

    /// A line of the body brought the message from `bytes.lowerBound - 1` to
    /// `bytes.upperBound` bytes: the `body` rules whose count lies in between act.
    mutating func bodyFaults(_ bytes: ClosedRange<Int>) {
        guard let faults, faults.hasRules(at: .body),
            let decision = decideFault(.body, bodyBytes: bytes)
        else { return }
        if let delay = decision.delay {
            faultPause = .body(decision.action)
            events.append(.delay(nanoseconds: delay))
            return
        }
        if let action = decision.action { commandFault(action, stage: .body) }
    }

    /// A complete BDAT chunk (not refused): its own answer, or the `bdat` rules' instead.
    mutating func finishChunkWithFaults() {
        guard let decision = decideFault(.bdat) else { return finishChunk() }
        if let delay = decision.delay {
            faultPause = .chunk(decision.action)
            events.append(.delay(nanoseconds: delay))
            return
        }
        chunkFault(decision.action)
    }

    mutating func chunkFault(_ action: FaultAction?) {
        guard let action else { return finishChunk() }
        // Whatever the rule answers, this message is over (the client must RSET).
        transaction = nil
        data = nil
        chunk = Chunk()
        enterState(.helo)
        commandFault(action, stage: .bdat)
    }

    /// The final dot: the message goes to the store, or the rules of `after-data` act.
    mutating func deliverWithFaults(_ message: Message) {
        guard let decision = decideFault(.afterData) else {
            pendingDelivery = message
            events.append(.deliver(message))
            return
        }
        if let delay = decision.delay {
            faultPause = .endOfMessage(message, decision.action)
            events.append(.delay(nanoseconds: delay))
            return
        }
        messageFault(decision.action, message: message)
    }

    mutating func messageFault(_ action: FaultAction?, message: Message) {
        switch action {
        case nil:
            pendingDelivery = message
            events.append(.deliver(message))
        case .acceptAndDrop:
            reply("250 2.0.0 " + message.id + " Message accepted for delivery")
            log(
                "smtp fault accept-and-drop msgid=\(message.id) size=\(message.size) "
                    + "nrcpt=\(message.recipients.count) NOTHING STORED")
            messageCount += 1
            transaction = nil
            enterState(.helo)
        case let action?:
            commandFault(action, stage: .afterData)
            if !closed {
                transaction = nil
                enterState(.helo)
            }
        }
    }

    /// A fault reply counts as one error (as one refused command does), however many lines.
    mutating func emitFaultReply(_ reply: FaultReply) {
        let lines = reply.wireLines
        for line in lines.dropLast() { emitReply(line) }
        self.reply(lines.last!)
    }
}
