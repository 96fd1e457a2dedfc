/// A recipient that RCPT TO accepted.
public struct AcceptedRecipient: Sendable, Equatable {
    public var address: MailAddress
    /// The address as the client gave it after parsing, for `Delivered-To:`
    /// (`osdrefuser@localhost`, `osdrefuser@[127.0.0.1]`; `<user>` becomes `user@servername`).
    public var original: String
    public var route: RecipientRoute
    /// NOTIFY= and ORCPT= (RFC 3461), for the bounces of a relay.
    public var dsn: RecipientDSN

    public init(
        address: MailAddress, original: String, route: RecipientRoute,
        dsn: RecipientDSN = RecipientDSN()
    ) {
        self.address = address
        self.original = original
        self.route = route
        self.dsn = dsn
    }
}

/// What is known of a message while it arrives, before its content: what a store needs to
/// open a streamed delivery (its files, and a relayed message's spool envelope).
public struct MessageEnvelope: Sendable, Equatable {
    /// As `Message.id`.
    public var id: String
    public var sender: ReversePath
    public var recipients: [AcceptedRecipient]
    public var dsn: DSNRequest

    public init(
        id: String, sender: ReversePath, recipients: [AcceptedRecipient],
        dsn: DSNRequest = DSNRequest()
    ) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
        self.dsn = dsn
    }
}

/// A complete message handed to delivery after the final dot.
public struct Message: Sendable, Equatable {
    /// 8 lowercase hex digits, as in `250 2.0.0 <id> Message accepted for delivery`.
    public var id: String
    public var sender: ReversePath
    public var recipients: [AcceptedRecipient]
    /// `Received:` + processed header section + body, every line LF-terminated.
    /// Without `Return-Path:`/`Delivered-To:`, which differ per recipient.
    public var content: [UInt8]
    /// Bytes of `content` (OpenSMTPD logs it as `size=`).
    public var size: Int
    /// `"SMTP"` after HELO, `"ESMTP"` after EHLO (also under TLS, as OpenSMTPD logs it).
    public var protocolName: String
    /// The user name the client authenticated as (AUTH), nil without AUTH.
    public var authenticatedUser: String?
    /// RET= and ENVID= of MAIL (RFC 3461).
    public var dsn: DSNRequest

    public init(
        id: String, sender: ReversePath, recipients: [AcceptedRecipient], content: [UInt8],
        protocolName: String, authenticatedUser: String? = nil, dsn: DSNRequest = DSNRequest()
    ) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
        self.content = content
        self.size = content.count
        self.protocolName = protocolName
        self.authenticatedUser = authenticatedUser
        self.dsn = dsn
    }

    /// Its envelope, as a streamed delivery was opened with.
    public var envelope: MessageEnvelope {
        MessageEnvelope(id: id, sender: sender, recipients: recipients, dsn: dsn)
    }

    /// Lines to put before `content` in the recipient's file: `Return-Path: <sender>`
    /// (omitted for `<>`) and `Delivered-To: original`. OpenSMTPD: `mda.c`.
    public func deliveryHeaders(for recipient: AcceptedRecipient) -> [UInt8] {
        Self.deliveryHeaders(sender: sender, recipient: recipient)
    }

    /// The same lines for a message not yet complete (streaming delivery).
    public static func deliveryHeaders(sender: ReversePath, recipient: AcceptedRecipient)
        -> [UInt8]
    {
        var text = ""
        if case .address(let address) = sender {
            text += "Return-Path: <\(address)>\n"
        }
        text += "Delivered-To: \(recipient.original)\n"
        return Array(text.utf8)
    }
}

/// Result of delivering a `Message`, reported through `SMTPSession.deliveryFinished`.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Durable on disk: `250 2.0.0 <id> Message accepted for delivery`.
    case delivered
    /// Not stored: the failure's own reply; the session continues.
    case failed(DeliveryFailure)
}

/// Why a message was not stored, in the terms of the reply to the final dot: a reply code
/// and an RFC 3463 enhanced status. Store-neutral: the store maps its own errors to it (the
/// Maildir store in `DeliveryFailure(storing:)`), the session only says it.
public struct DeliveryFailure: Error, Sendable, Equatable {
    /// 451, 452, 552, 554…
    public var code: Int
    /// "4.3.1"
    public var enhancedStatus: String
    /// What follows the codes (CR, LF and control bytes are replaced when it is sent).
    public var text: String

    public init(code: Int, enhancedStatus: String, text: String) {
        self.code = code
        self.enhancedStatus = enhancedStatus
        self.text = text
    }

    /// True for a 4xx: the client keeps the message and tries again.
    public var isTemporary: Bool { code < 500 }

    /// `451 4.3.0`: the answer when nothing more precise is known.
    public static let temporary = DeliveryFailure(
        code: 451, enhancedStatus: "4.3.0", text: "Temporary failure, message not stored")
}

/// What the session asks its owner to do, in order.
public enum SessionEvent: Sendable, Equatable {
    /// One reply line including CRLF; write in order.
    case reply([UInt8])
    /// Deliver, then call `deliveryFinished`. Input waits meanwhile. Indirect: a `Message`
    /// inline made every event (replies and log lines too) as large as a message's envelope.
    indirect case deliver(Message)
    /// Flush the replies, then close the connection.
    case close
    /// An info line for the log (`smtpd -d` style), without newline.
    case log(String)
    /// A trace line (`smtpd -T smtp` style), only if tracing is enabled.
    case trace(String)
    /// Check these credentials, then call `authenticationFinished`. Input waits meanwhile.
    /// OpenSMTPD: `IMSG_SMTP_AUTHENTICATE` to the lookup process.
    case authenticate(AuthenticationRequest)
    /// Flush the replies (the `220 2.0.0 Ready to start TLS`), then start the TLS handshake
    /// and call `tlsEstablished` when it is done. Input meanwhile is discarded.
    case startTLS
    /// MailLab fault injection: flush the replies, wait this long, then call `delayElapsed`.
    /// Input waits meanwhile.
    case delay(nanoseconds: UInt64)
    /// MailLab fault injection: close the connection abortively (RST: `SO_LINGER` 0, then
    /// `close`), dropping whatever has not been sent.
    case reset
}
