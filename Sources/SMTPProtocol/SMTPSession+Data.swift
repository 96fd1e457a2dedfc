/// DATA: the 354, the message lines, the final dot. OpenSMTPD: `smtp_message_begin`,
/// `smtp_tx_dataline`, `smtp_message_end`.
extension SMTPSession {
    mutating func proceedData() {
        guard let transaction else { return }
        reply("354 Enter mail, end with \".\" on a line by itself")
        let date = DateText.format(unixSeconds: environment.now())
        var received =
            "Received: from \(heloName ?? "") (\(peer.hostNameText) [\(peer.address)])\n"
            + "\tby \(serverName) (\(configuration.softwareName)) with "
            + "\(extended ? "ESMTP" : "SMTP")\(isSecure ? "S" : "") id \(transaction.messageIDText)"
            + receivedTLSComment
        // 6.8 printed the last parsed RCPT here; HEAD (and we) the first accepted one.
        if transaction.recipients.count == 1 {
            received += "\n\tfor <\(transaction.recipients[0].address)>"
        }
        received += ";\n\t\(date)\n"
        data = DataPhase(
            content: MessageContent(
                received: received, serverName: serverName,
                addDateAndMessageID: configuration.listenerIsLocal, dateText: date,
                limits: limits, messageIDRandom: environment.random))
        enterState(.body)
    }

    /// One line inside DATA. Which "." ends the message depends on `lineMode`; a lone "."
    /// that does not end it is kept as it is (not unstuffed), so a smuggling attempt stays
    /// visible in the stored message.
    mutating func dataLine(_ line: [UInt8], endedWithCRLF: Bool) {
        guard data != nil else { return }
        if tracing { trace("<<< [MSG] \(ASCII.visible(line))") }
        let isDot = line.count == 1 && line[0] == ASCII.dot
        if isDot
            && (lineMode == .lenient || (endedWithCRLF && data!.previousLineEndedCRLF))
        {
            trace("<<< [EOM]")
            endOfMessage()
            return
        }
        data!.previousLineEndedCRLF = endedWithCRLF
        // Counted before unstuffing, as OpenSMTPD does; the size error wins over others.
        data!.countedSize += line.count + 1
        if data!.countedSize > limits.maxMessageSize {
            data!.error = .tooBig
        }
        guard data!.error == nil else { return }
        let stored = (line.count > 1 && line[0] == ASCII.dot) ? Array(line.dropFirst()) : line
        if let error = data!.content.push(stored) {
            data!.error = error
        }
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
        let message = Message(
            id: transaction.messageIDText, sender: transaction.sender,
            recipients: transaction.recipients, content: phase.content.bytes,
            protocolName: extended ? "ESMTP" : "SMTP")
        pendingDelivery = message
        events.append(.deliver(message))
    }
}
