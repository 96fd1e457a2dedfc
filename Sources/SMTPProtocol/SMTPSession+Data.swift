/// DATA: the 354, the message lines, the final dot. OpenSMTPD: `smtp_message_begin`,
/// `smtp_tx_dataline`, `smtp_message_end`.
extension SMTPSession {
    mutating func proceedData() {
        guard !$transaction.isNil else { return }
        reply("354 Enter mail, end with \".\" on a line by itself")
        beginMessage()
        enterState(.body)
    }

    /// The `Received:` line and the content it starts (DATA and the first BDAT).
    mutating func beginMessage() {
        guard let transaction else { return }
        let date = DateText.format(unixSeconds: environment.now())
        // Built as bytes into the buffer the message then grows in (room for a small
        // message), not as a chain of interpolated strings: this runs for every message.
        var received: [UInt8] = []
        received.reserveCapacity(4096)
        received += "Received: ".utf8
        if !configuration.maskSource {
            received += "from ".utf8
            received += (heloName ?? "").utf8
            received += " (".utf8
            received += peer.hostNameText.utf8
            received += " [".utf8
            received += peer.address.utf8
            received += "])".utf8
        }
        received += "\n\tby ".utf8
        received += serverName.utf8
        received += " (".utf8
        received += configuration.softwareName.utf8
        // RFC 6531 §4.3: UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA.
        received +=
            (transaction.smtputf8 ? ") with UTF8SMTP" : extended ? ") with ESMTP" : ") with SMTP")
            .utf8
        if isSecure { received.append(UInt8(ascii: "S")) }
        if authenticatedUser != nil { received.append(UInt8(ascii: "A")) }
        received += " id ".utf8
        received += transaction.messageIDText.utf8
        received += receivedTLSComment.utf8
        // 6.8 printed the last parsed RCPT here; HEAD (and we) the first accepted one.
        if transaction.recipients.count == 1 {
            received += "\n\tfor <".utf8
            received += transaction.recipients[0].address.description.utf8
            received.append(UInt8(ascii: ">"))
        }
        received += ";\n\t".utf8
        received += date.utf8
        received.append(ASCII.lf)
        data = DataPhase(
            content: MessageContent(
                received: received, serverName: serverName,
                addDateAndMessageID: configuration.listenerIsLocal, dateText: date,
                limits: limits, messageIDRandom: environment.random))
        if configuration.masquerade, configuration.senderAllowed != nil,
            authenticatedUser != nil
        {
            data?.content.masquerade = Array(transaction.sender.description.utf8)
        }
    }

    /// One line inside DATA. Which "." ends the message depends on `lineMode`; a lone "."
    /// that does not end it is kept as it is (not unstuffed), so a smuggling attempt stays
    /// visible in the stored message.
    mutating func dataLine(_ line: [UInt8], endedWithCRLF: Bool) {
        guard !$data.isNil else { return }
        if tracing { trace("<<< [MSG] \(ASCII.visible(line))") }
        let isDot = line.count == 1 && line[0] == ASCII.dot
        if isDot
            && (lineMode == .lenient || (endedWithCRLF && data!.previousLineEndedCRLF))
        {
            trace("<<< [EOM]")
            endOfMessage()
            return
        }
        let before = Self.keep(
            line, endedWithCRLF: endedWithCRLF, maximum: limits.maxMessageSize, in: &data!)
        // The line is kept first: a delay holds what comes after it.
        if faults != nil { bodyFaults((before + 1)...(before + line.count + 1)) }
    }

    /// Counts and keeps one DATA line, in one access to the out-of-line phase; returns the
    /// size counted before the line.
    private static func keep(
        _ line: [UInt8], endedWithCRLF: Bool, maximum: Int, in phase: inout DataPhase
    ) -> Int {
        phase.previousLineEndedCRLF = endedWithCRLF
        let before = phase.countedSize
        // Counted before unstuffing, as OpenSMTPD does; the size error wins over others.
        phase.countedSize += line.count + 1
        if phase.countedSize > maximum {
            phase.error = .tooBig
        }
        guard phase.error == nil else { return before }
        let stored = (line.count > 1 && line[0] == ASCII.dot) ? Array(line.dropFirst()) : line
        if let error = phase.content.push(stored) {
            phase.error = error
        }
        return before
    }

    mutating func endOfMessage() {
        guard var phase = data, let transaction else { return }
        data = nil
        if let error = phase.error {
            reply(error.reply)
            self.transaction = nil
            enterState(.helo)
            return
        }
        phase.content.finish()
        var message = Message(
            id: transaction.messageIDText, sender: transaction.sender,
            recipients: transaction.recipients, content: phase.content.bytes,
            protocolName: extended ? "ESMTP" : "SMTP", authenticatedUser: authenticatedUser,
            dsn: transaction.dsn)
        // With streaming, `content` is only the part not yet taken.
        message.size = phase.content.storedCount
        deliverWithFaults(message)
    }
}

/// Streaming delivery: the owner takes the stored form of a message while it arrives and
/// writes it to the store, so a session holds a bounded buffer whatever the message's size.
/// Nobody has to: untaken bytes stay in the session and come whole in `Message.content`.
/// Once taken from, `Message.content` of the `.deliver` is only the rest, `size` the whole.
extension SMTPSession {
    /// Sender and recipients of the message being received (DATA after its 354, BDAT after
    /// its first chunk began), nil outside a message.
    public var messageEnvelope: MessageEnvelope? {
        guard !$data.isNil, let transaction else { return nil }
        return MessageEnvelope(
            id: transaction.messageIDText, sender: transaction.sender,
            recipients: transaction.recipients, dsn: transaction.dsn)
    }

    /// A message is received or its end waits for a fault's delay: not yet given up.
    public var messageInProgress: Bool {
        if !$data.isNil { return true }
        if case .endOfMessage = faultPause { return true }
        return false
    }

    /// The message will be refused at its end (too big, a loop, malformed): nothing more of
    /// it is stored, and what was stored can go.
    public var messageRefused: Bool { data?.error != nil }

    /// Bytes of the stored form waiting to be taken.
    public var storedBytesPending: Int { data?.content.bytes.count ?? 0 }

    /// The stored form received since the last take, once at least `minimum` bytes of it
    /// wait (nil before, and outside a message).
    public mutating func takeStoredBytes(atLeast minimum: Int) -> [UInt8]? {
        guard let pending = data?.content.bytes.count, pending >= max(minimum, 1) else {
            return nil
        }
        return data!.content.takeBytes()
    }

    /// The stored form received since the last call.
    public mutating func takeStoredBytes() -> [UInt8] {
        guard !$data.isNil else { return [] }
        return data!.content.takeBytes()
    }
}
