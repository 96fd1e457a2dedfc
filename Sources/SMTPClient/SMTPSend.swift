import LinuxSystem
/// The stages of a transaction `mlab send --quit-after` can stop at (swaks' names).
public enum SendStage: String, Sendable, CaseIterable, Comparable {
    case connect, banner, ehlo, mail, rcpt, data, dot

    public static func < (lhs: SendStage, rhs: SendStage) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What `mlab send` sends and where.
public struct SendOptions: Sendable {
    public var server = "127.0.0.1"
    public var port: UInt16 = 25
    public var namespace: String?
    public var from: String
    public var to: [String]
    public var ehlo: String
    /// The whole message (headers included), sent as is; nil: composed from subject and body.
    public var data: [UInt8]?
    public var subject: String?
    public var body = "This is a test mailing"
    public var quitAfter: SendStage = .dot
    public var timeout: Double = 30

    public init(from: String, to: [String], ehlo: String) {
        self.from = from
        self.to = to
        self.ehlo = ehlo
    }
}

/// The swaks-compatible exit status of a send.
public enum SendStatus: Int32, Sendable {
    case ok = 0
    case connectFailed = 2
    case bannerFailed = 21
    case heloFailed = 22
    case mailFailed = 23
    case noRecipient = 24
    case dataFailed = 25
    case messageRefused = 26
}

/// A swaks-style transaction: connect, banner, EHLO (HELO after a 5xx), MAIL, RCPT for each
/// recipient, DATA, the message, QUIT; every step shown through `output`.
public enum SMTPSend {
    public static func run(_ options: SendOptions, output: @escaping (String) -> Void) -> SendStatus
    {
        let place = options.namespace.map { " (namespace \($0))" } ?? ""
        output("=== Trying \(options.server):\(options.port)\(place)...")
        let connection: SMTPConnection
        do {
            connection = try SMTPConnection.connect(
                host: options.server, port: options.port, namespace: options.namespace,
                timeout: options.timeout,
                observer: { output(TranscriptFormat.swaks($0)) })
        } catch {
            output("*** Error connecting to \(options.server):\(options.port):")
            output("***\t\(error)")
            return .connectFailed
        }
        defer { connection.close() }
        let peer = (try? SocketAddress.peer(of: connection.fd))?.host ?? options.server
        output("=== Connected to \(peer).")
        let session = SendSession(connection: connection, options: options, output: output)
        return session.run()
    }
}

private struct SendSession {
    let connection: SMTPConnection
    let options: SendOptions
    let output: (String) -> Void

    func run() -> SendStatus {
        if options.quitAfter == .connect { return closing(.ok) }
        guard let banner = reply(), banner.code == 220 else { return quit(.bannerFailed) }
        if options.quitAfter == .banner { return quit(.ok) }

        guard let ehlo = command("EHLO \(options.ehlo)") else { return closing(.heloFailed) }
        if !ehlo.isPositive {
            guard ehlo.isPermanentFailure, let helo = command("HELO \(options.ehlo)"),
                helo.isPositive
            else { return quit(.heloFailed) }
        }
        if options.quitAfter == .ehlo { return quit(.ok) }

        guard let mail = command("MAIL FROM:<\(options.from)>") else { return closing(.mailFailed) }
        guard mail.isPositive else { return quit(.mailFailed) }
        if options.quitAfter == .mail { return quit(.ok) }

        var accepted = 0
        for recipient in options.to {
            guard let rcpt = command("RCPT TO:<\(recipient)>") else {
                return closing(.noRecipient)
            }
            if rcpt.isPositive { accepted += 1 }
        }
        guard accepted > 0 else { return quit(.noRecipient) }
        if options.quitAfter == .rcpt { return quit(.ok) }

        guard let data = command("DATA") else { return closing(.dataFailed) }
        guard data.code == 354 else { return quit(.dataFailed) }
        if options.quitAfter == .data {
            // After 354 anything sent is message text: leave without a final dot.
            output("=== Closing the connection in the middle of DATA (--quit-after data).")
            return closing(.ok)
        }

        do {
            try connection.write(DotStuffing.encode(message()))
        } catch {
            output("*** \(error)")
            return closing(.messageRefused)
        }
        guard let accepted = reply() else { return closing(.messageRefused) }
        return quit(accepted.isPositive ? .ok : .messageRefused)
    }

    func message() -> [UInt8] {
        if let data = options.data { return data }
        let date = MessageComposer.date()
        return Array(
            MessageComposer.compose(
                from: options.from, to: options.to, subject: options.subject ?? "test \(date)",
                body: options.body, date: date,
                messageID: MessageComposer.messageID(host: options.ehlo)
            ).utf8)
    }

    func command(_ line: String) -> SMTPReply? {
        do {
            try connection.send(line)
        } catch {
            output("*** \(error)")
            return nil
        }
        return reply()
    }

    func reply() -> SMTPReply? {
        do {
            return try connection.readReply()
        } catch {
            output("*** \(error)")
            return nil
        }
    }

    func quit(_ status: SendStatus) -> SendStatus {
        if (try? connection.send("QUIT")) != nil { _ = try? connection.readReply() }
        return closing(status)
    }

    func closing(_ status: SendStatus) -> SendStatus {
        connection.close()
        output("=== Connection closed with remote host.")
        return status
    }
}
