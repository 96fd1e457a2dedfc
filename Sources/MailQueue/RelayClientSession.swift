import SMTPClient
import SMTPProtocol

/// The client side of one SMTP session to a next hop, as a pure state machine: reply bytes
/// in (any split), events out. The transport (`RelayTransport`) writes `.send` bytes, reads
/// the socket into `receive`, and closes after `.closed`. OpenSMTPD: `mta_session.c`.
///
/// EHLO first (HELO after a 5xx to it); PIPELINING, 8BITMIME, SIZE, DSN and SMTPUTF8 used when
/// the next hop offers them; with PIPELINING, MAIL, every RCPT and DATA go out together
/// (RFC 2920), without it one command per reply. STARTTLS is asked for with `.startTLS` when
/// the policy wants it and the next hop offers it. One session carries several
/// transactions (connection reuse): `.ready` after each. With credentials (`relay … auth
/// <table>`), AUTH PLAIN (else LOGIN, as OpenSMTPD's mta) follows the EHLO of a secured
/// session; credentials never cross an unencrypted connection.
public struct RelayClientSession: Sendable {
    /// The user and password of `auth <table>` for the URL's label.
    public struct Credentials: Sendable, Equatable {
        public var user: String
        public var password: String

        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    /// When to use STARTTLS.
    public enum TLSPolicy: Sendable, Equatable {
        case never
        /// When offered.
        case opportunistic
        /// A next hop without STARTTLS is a temporary failure.
        case required
    }

    /// One message for some recipients.
    public struct Transaction: Sendable, Equatable {
        public var sender: ReversePath
        public var recipients: [MailAddress]
        /// Per recipient, in the same order.
        public var recipientDSN: [RecipientDSN]
        public var dsn: DSNRequest
        /// LF or CRLF lines; stuffed and terminated as they go out (`.sendContent`).
        public var content: RelayContent

        public init(
            sender: ReversePath, recipients: [MailAddress], recipientDSN: [RecipientDSN]? = nil,
            dsn: DSNRequest = DSNRequest(), content: RelayContent
        ) {
            self.sender = sender
            self.recipients = recipients
            self.recipientDSN =
                recipientDSN ?? Array(repeating: RecipientDSN(), count: recipients.count)
            self.dsn = dsn
            self.content = content
        }
    }

    /// What happened to each recipient of a transaction: the reply that decided it.
    public struct TransactionResult: Sendable, Equatable {
        /// Per recipient: the RCPT reply if it refused the recipient, else the reply to the
        /// final dot (or to MAIL/DATA when they failed).
        public var replies: [SMTPReply]
    }

    public enum Event: Sendable, Equatable {
        /// Write these bytes.
        case send([UInt8])
        /// Write the transaction's content, dot-stuffed with every lone CR sent as a line
        /// end (`DotStuffing.Encoder(loneCRAsLineEnd: true)`, RFC 5321 §2.3.8: a relay that
        /// passed `\r.\r` on would hand the next hop a smuggled end of data), and the
        /// terminator.
        case sendContent
        /// Start the TLS handshake (client side), then call `tlsEstablished`.
        case startTLS
        /// Greeted (and secured, if so): a transaction may begin.
        case ready
        /// A transaction ended; `.ready` follows when the session can take another.
        case finished(TransactionResult)
        /// The session cannot go on: every recipient of a transaction in progress gets
        /// `reply`. Close the connection.
        case failed(SMTPReply)
        /// After QUIT's reply (or at once): close the connection.
        case closed
    }

    private enum Phase: Sendable, Equatable {
        case greeting, ehlo, helo, startTLS, authLoginUser, authLoginPassword, authResult, ready
        case transaction, body, reset, quit, done
    }

    private enum Command: Sendable, Equatable { case mail, rcpt(Int), data }

    public let heloName: String
    public let tls: TLSPolicy
    public let credentials: Credentials?
    private var phase = Phase.greeting
    private var framer = ReplyLines()
    private var parser = ReplyParser()
    private var extensions: [String: String] = [:]
    private var secured = false
    /// Complete replies received so far (the transport's per-reply deadline counts them).
    public private(set) var completedReplies = 0
    private var transaction: Transaction?
    private var replies: [SMTPReply?] = []
    /// Commands sent or to be sent, in order, and how many replies came back.
    private var commands: [Command] = []
    private var sentCommands = 0
    private var answered = 0
    private var mailReply: SMTPReply?
    private var dataReply: SMTPReply?
    /// What the transaction in progress needs of the next hop, read once from it.
    private var needs = Needs()

    private struct Needs: Sendable {
        var eightBit = false
        var utf8Address = false

        init() {}
        init(_ t: Transaction) {
            eightBit = t.content.eightBit
            utf8Address =
                t.sender.description.utf8.contains { $0 >= 0x80 }
                || t.recipients.contains { $0.description.utf8.contains { $0 >= 0x80 } }
        }
    }

    /// `secured`: TLS from the first byte (`smtps://`), so AUTH may follow the first EHLO.
    public init(
        heloName: String, tls: TLSPolicy, credentials: Credentials? = nil, secured: Bool = false
    ) {
        self.heloName = heloName
        self.tls = tls
        self.credentials = credentials
        self.secured = secured
    }

    /// True when the next hop advertised `keyword` (upper case) in its EHLO reply.
    public func offers(_ keyword: String) -> Bool { extensions[keyword] != nil }

    public var isSecured: Bool { secured }

    /// Bytes from the next hop.
    public mutating func receive(_ bytes: [UInt8]) -> [Event] {
        var events: [Event] = []
        for line in framer.feed(bytes) {
            guard phase != .done else { break }
            if line.count > 4096 {
                events += fail(protocolError("reply line longer than 4096 bytes"))
                break
            }
            let text = String(decoding: line, as: UTF8.self)
            let reply: SMTPReply?
            do {
                reply = try parser.feed(text)
            } catch {
                events += fail(protocolError("\(error)"))
                break
            }
            if let reply {
                completedReplies += 1
                events += handle(reply)
            }
        }
        return events
    }

    /// After `.startTLS`: the handshake succeeded; EHLO again (RFC 3207 §4.2).
    public mutating func tlsEstablished() -> [Event] {
        secured = true
        extensions = [:]
        phase = .ehlo
        return [.send(Array("EHLO \(heloName)\r\n".utf8))]
    }

    /// The next hop closed the connection or the transport failed.
    public mutating func connectionLost(_ reason: String) -> [Event] {
        guard phase != .done else { return [] }
        if phase == .quit {
            phase = .done
            return [.closed]
        }
        return fail(SMTPReply(code: 421, lines: ["4.4.2 \(reason)"]))
    }

    /// Starts a transaction; only after `.ready`.
    public mutating func begin(_ transaction: Transaction) -> [Event] {
        precondition(phase == .ready, "begin outside the ready state")
        needs = Needs(transaction)
        if let refusal = refusal() {
            // Nothing is sent: the session stays ready for the next message.
            let replies = Array(repeating: refusal, count: transaction.recipients.count)
            return [.finished(TransactionResult(replies: replies)), .ready]
        }
        self.transaction = transaction
        replies = Array(repeating: nil, count: transaction.recipients.count)
        commands = [.mail] + transaction.recipients.indices.map { .rcpt($0) } + [.data]
        sentCommands = 0
        answered = 0
        mailReply = nil
        dataReply = nil
        phase = .transaction
        return sendCommands()
    }

    /// What this next hop cannot take as it is: 8-bit content without 8BITMIME (RFC 6152
    /// §3: downgrade or return; MailLab does not convert), non-ASCII addresses without
    /// SMTPUTF8 (RFC 6531 §3.2). Each bounces with its RFC 3463 code rather than reaching
    /// the next hop in a form it did not agree to.
    private func refusal() -> SMTPReply? {
        if needs.utf8Address && !offers("SMTPUTF8") {
            return SMTPReply(
                code: 553,
                lines: ["5.6.7 next hop does not offer SMTPUTF8 for a non-ASCII address"])
        }
        if needs.eightBit && !offers("8BITMIME") {
            return SMTPReply(
                code: 554,
                lines: ["5.6.3 next hop does not offer 8BITMIME for 8-bit content"])
        }
        return nil
    }

    /// Ends the session politely.
    public mutating func quit() -> [Event] {
        guard phase == .ready else {
            phase = .done
            return [.closed]
        }
        phase = .quit
        return [.send(Array("QUIT\r\n".utf8))]
    }

    // MARK: replies

    private mutating func handle(_ reply: SMTPReply) -> [Event] {
        switch phase {
        case .greeting:
            guard reply.code == 220 else { return fail(reply) }
            phase = .ehlo
            return [.send(Array("EHLO \(heloName)\r\n".utf8))]
        case .ehlo:
            if reply.isPermanentFailure && !secured {
                phase = .helo
                return [.send(Array("HELO \(heloName)\r\n".utf8))]
            }
            guard reply.code == 250 else { return fail(reply) }
            for line in reply.lines.dropFirst() {
                let words = line.split(separator: " ", maxSplits: 1)
                guard let keyword = words.first else { continue }
                extensions[keyword.uppercased()] = words.count > 1 ? String(words[1]) : ""
            }
            if !secured && tls != .never && offers("STARTTLS") {
                phase = .startTLS
                return [.send(Array("STARTTLS\r\n".utf8))]
            }
            if !secured && tls == .required {
                return fail(
                    SMTPReply(code: 421, lines: ["4.7.10 STARTTLS required but not offered"]))
            }
            return greeted()
        case .helo:
            guard reply.code == 250 else { return fail(reply) }
            if tls == .required {
                return fail(
                    SMTPReply(code: 421, lines: ["4.7.10 STARTTLS required but not offered"]))
            }
            return greeted()
        case .startTLS:
            guard reply.code == 220 else {
                if tls == .required { return fail(reply) }
                return greeted()
            }
            return [.startTLS]
        case .authLoginUser, .authLoginPassword:
            guard reply.code == 334, let credentials else { return authRefused(reply) }
            let secret = phase == .authLoginUser ? credentials.user : credentials.password
            phase = phase == .authLoginUser ? .authLoginPassword : .authResult
            return [.send(Array((Base64.encode(Array(secret.utf8)) + "\r\n").utf8))]
        case .authResult:
            guard reply.code == 235 else { return authRefused(reply) }
            phase = .ready
            return [.ready]
        case .transaction:
            return transactionReply(reply)
        case .body:
            for i in replies.indices where replies[i] == nil { replies[i] = reply }
            return finish()
        case .reset:
            guard reply.code == 250 else { return fail(reply) }
            phase = .ready
            return [.ready]
        case .quit:
            phase = .done
            return [.closed]
        case .ready:
            // Nothing was asked: a next hop talking out of turn (a 421 before closing).
            return fail(reply)
        case .done:
            return []
        }
    }

    private mutating func transactionReply(_ reply: SMTPReply) -> [Event] {
        guard transaction != nil, answered < sentCommands else { return fail(reply) }
        let command = commands[answered]
        answered += 1
        switch command {
        case .mail:
            if reply.code != 250 {
                mailReply = reply
                if !offers("PIPELINING") {
                    for i in replies.indices { replies[i] = reply }
                    return resetAfterFailure()
                }
            }
        case .rcpt(let index):
            if let mailReply {
                replies[index] = mailReply
            } else if reply.code != 250 && reply.code != 251 {
                replies[index] = reply
            }
        case .data:
            dataReply = reply
            if reply.code == 354 {
                guard mailReply == nil, replies.contains(where: { $0 == nil }) else {
                    // Every recipient was refused (pipelined), yet the next hop waits for a
                    // message: RFC 5321 §3.3 forbids sending it, and RSET or QUIT would be
                    // taken as its text. Each recipient keeps its own refusal (a 5xx
                    // bounces, a 4xx waits) and the connection is closed unused.
                    let result = TransactionResult(
                        replies: replies.map { $0 ?? mailReply ?? Self.unknown })
                    self.transaction = nil
                    phase = .done
                    return [.finished(result), .closed]
                }
                phase = .body
                return [.sendContent]
            }
            guard reply.code >= 400 else {
                // A 2xx without the message: taking it as delivered would lose the message.
                return fail(protocolError("DATA answered with \(reply.code), not 354"))
            }
            for i in replies.indices where replies[i] == nil { replies[i] = reply }
            return resetAfterFailure()
        }
        if answered == commands.count - 1 && !offers("PIPELINING") {
            // Without pipelining, DATA only goes out when someone is left to send to.
            if mailReply != nil || !replies.contains(where: { $0 == nil }) {
                return resetAfterFailure()
            }
        }
        return sendCommands()
    }

    /// Sends what may go now: everything with PIPELINING, else the next command.
    private mutating func sendCommands() -> [Event] {
        guard let transaction else { return [] }
        var bytes: [UInt8] = []
        let pipelining = offers("PIPELINING")
        while sentCommands < commands.count && (pipelining || sentCommands == answered) {
            bytes += Array(line(commands[sentCommands], transaction).utf8)
            sentCommands += 1
        }
        return bytes.isEmpty ? [] : [.send(bytes)]
    }

    private func line(_ command: Command, _ t: Transaction) -> String {
        switch command {
        case .mail:
            var text = "MAIL FROM:<\(t.sender)>"
            if offers("SIZE") {
                text += " SIZE=\(t.content.wireSize)"
            }
            if needs.eightBit && offers("8BITMIME") { text += " BODY=8BITMIME" }
            if needs.utf8Address && offers("SMTPUTF8") { text += " SMTPUTF8" }
            if offers("DSN") {
                if let ret = t.dsn.ret { text += " RET=\(ret.rawValue)" }
                if let envid = t.dsn.envelopeID { text += " ENVID=\(envid)" }
            }
            return text + "\r\n"
        case .rcpt(let index):
            var text = "RCPT TO:<\(t.recipients[index])>"
            let dsn = t.recipientDSN[index]
            if offers("DSN") {
                if !dsn.notify.isEmpty {
                    var words: [String] = []
                    if dsn.notify.contains(.never) { words = ["NEVER"] }
                    if dsn.notify.contains(.success) { words.append("SUCCESS") }
                    if dsn.notify.contains(.failure) { words.append("FAILURE") }
                    if dsn.notify.contains(.delay) { words.append("DELAY") }
                    text += " NOTIFY=" + words.joined(separator: ",")
                }
                if let orcpt = dsn.originalRecipient { text += " ORCPT=\(orcpt)" }
            }
            return text + "\r\n"
        case .data:
            return "DATA\r\n"
        }
    }

    /// Every recipient is decided; with pipelining the remaining replies are read first.
    private mutating func resetAfterFailure() -> [Event] {
        if answered < sentCommands {
            return []  // more pipelined replies to come; the DATA reply ends it
        }
        let result = TransactionResult(replies: replies.map { $0 ?? Self.unknown })
        transaction = nil
        phase = .reset
        return [.finished(result), .send(Array("RSET\r\n".utf8))]
    }

    /// Greeted (and secured, as the policy wants): AUTH when there are credentials, else
    /// ready. As OpenSMTPD's mta, credentials are never sent in clear.
    private mutating func greeted() -> [Event] {
        guard let credentials else {
            phase = .ready
            return [.ready]
        }
        guard secured else {
            return fail(
                SMTPReply(
                    code: 421, lines: ["4.7.0 not sending credentials over an unencrypted session"]
                ))
        }
        let mechanisms = Set(
            (extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        if mechanisms.contains("PLAIN") {
            phase = .authResult
            let token = Base64.encode(
                [0] + Array(credentials.user.utf8) + [0] + Array(credentials.password.utf8))
            return [.send(Array("AUTH PLAIN \(token)\r\n".utf8))]
        }
        if mechanisms.contains("LOGIN") {
            phase = .authLoginUser
            return [.send(Array("AUTH LOGIN\r\n".utf8))]
        }
        let offered = offers("AUTH") ? "neither PLAIN nor LOGIN" : "no AUTH"
        return fail(SMTPReply(code: 421, lines: ["4.7.0 next hop offers \(offered)"]))
    }

    /// A refused AUTH keeps the mail queued (a temporary failure, as OpenSMTPD's mta): a
    /// wrong secret is fixed by its administrator, and the message bounces only at expiry.
    private mutating func authRefused(_ reply: SMTPReply) -> [Event] {
        let text = reply.wireLines.first ?? "\(reply.code)"
        return fail(SMTPReply(code: 421, lines: ["4.7.0 AUTH refused by next hop: \(text)"]))
    }

    private mutating func finish() -> [Event] {
        let result = TransactionResult(replies: replies.map { $0 ?? Self.unknown })
        transaction = nil
        phase = .ready
        return [.finished(result), .ready]
    }

    private mutating func fail(_ reply: SMTPReply) -> [Event] {
        phase = .done
        transaction = nil
        return [.failed(reply), .closed]
    }

    private func protocolError(_ text: String) -> SMTPReply {
        SMTPReply(code: 421, lines: ["4.5.0 next hop protocol error: \(text)"])
    }

    static let unknown = SMTPReply(code: 451, lines: ["4.3.0 no reply for this recipient"])
}

/// Splits reply bytes into lines at LF (a CR before it dropped), keeping a partial line
/// until the rest arrives.
struct ReplyLines: Sendable {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in bytes {
            if byte == 10 {
                if pending.last == 13 { pending.removeLast() }
                lines.append(pending)
                pending = []
            } else if pending.count <= 4097 {
                pending.append(byte)  // longer lines are refused by length, not buffered
            }
        }
        return lines
    }
}
