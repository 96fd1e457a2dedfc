import LinuxSystem
import SMTPProtocol
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
    /// AUTH PLAIN (RFC 4954) with these credentials after EHLO; the server must offer it.
    public var auth: (user: String, password: String)?
    /// `MAIL FROM:<…> SMTPUTF8` (RFC 6531); the server must offer SMTPUTF8.
    public var smtputf8 = false
    /// Send the message with BDAT (RFC 3030) in chunks of at most this many bytes instead
    /// of DATA; the server must offer CHUNKING.
    public var bdatChunkSize: Int?

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
    /// AUTH not offered or refused (swaks: 28).
    case authFailed = 28
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
        let keywords = Set(ehlo.lines.dropFirst().map { $0.uppercased() })

        if let auth = options.auth {
            let offered = keywords.contains {
                $0.hasPrefix("AUTH ") && $0.split(separator: " ").contains("PLAIN")
            }
            guard offered else {
                output("*** Server does not offer AUTH PLAIN")
                return quit(.authFailed)
            }
            let response = Base64.encode(Array("\0\(auth.user)\0\(auth.password)".utf8))
            guard let answer = command("AUTH PLAIN \(response)") else {
                return closing(.authFailed)
            }
            guard answer.code == 235 else { return quit(.authFailed) }
        }
        if options.smtputf8 && !keywords.contains("SMTPUTF8") {
            output("*** Server does not offer SMTPUTF8")
            return quit(.mailFailed)
        }
        if options.bdatChunkSize != nil && !keywords.contains("CHUNKING") {
            output("*** Server does not offer CHUNKING")
            return quit(.dataFailed)
        }

        let mailLine = "MAIL FROM:<\(options.from)>" + (options.smtputf8 ? " SMTPUTF8" : "")
        guard let mail = command(mailLine) else { return closing(.mailFailed) }
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
        if let size = options.bdatChunkSize { return sendChunks(size: size) }

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

    /// BDAT n, each chunk answered before the next (no pipelining): CRLF line ends, no dot
    /// stuffing, the last chunk marked LAST.
    func sendChunks(size: Int) -> SendStatus {
        let content = DotStuffing.crlfLines(message())
        var offset = 0
        repeat {
            let end = min(content.count, offset + size)
            let last = end == content.count
            let line = "BDAT \(end - offset)\(last ? " LAST" : "")"
            do {
                try connection.send(line)
                try connection.write(Array(content[offset..<end]))
            } catch {
                output("*** \(error)")
                return closing(.messageRefused)
            }
            guard let answer = reply() else { return closing(.messageRefused) }
            guard answer.isPositive else { return quit(last ? .messageRefused : .dataFailed) }
            offset = end
            if last { return quit(.ok) }
        } while true
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
