import SMTPProtocol

/// One message of the relay queue: its envelope and the state of each recipient. Its spool
/// file holds this, then the message itself (`QueueFileCodec`), which stays there: it is
/// read a piece at a time when sent (`RelayContent`). OpenSMTPD keeps one file per
/// envelope, MailLab one per message, so the content is written once.
public struct QueuedMessage: Sendable, Equatable {
    /// The message id the session answered with (8 hex digits), as a number.
    public var id: UInt32
    public var sender: ReversePath
    /// Unix seconds.
    public var created: Int64
    /// Unix seconds: undelivered recipients bounce from then on (`queue ttl`).
    public var expires: Int64
    /// RET= and ENVID= of MAIL.
    public var dsn: DSNRequest
    public var recipients: [QueuedRecipient]

    public init(
        id: UInt32, sender: ReversePath, created: Int64, expires: Int64,
        dsn: DSNRequest = DSNRequest(), recipients: [QueuedRecipient]
    ) {
        self.id = id
        self.sender = sender
        self.created = created
        self.expires = expires
        self.dsn = dsn
        self.recipients = recipients
    }

    /// True once no recipient waits for another attempt.
    public var isFinished: Bool { recipients.allSatisfy { $0.state != .pending } }
}

/// One recipient of a queued message.
public struct QueuedRecipient: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        /// Waiting for (another) attempt.
        case pending
        /// The next hop answered 250.
        case delivered
        /// Permanent failure or expiry: a bounce is due (unless NOTIFY says otherwise).
        case failed
        /// Taken out with `smtpctl remove`: no delivery, no bounce.
        case removed
    }

    public var address: MailAddress
    /// The name of the relay action that routed it.
    public var action: String
    /// NOTIFY= and ORCPT=.
    public var dsn: RecipientDSN
    public var state: State
    public var attempts: Int
    /// Unix seconds of the last attempt; 0 if none yet.
    public var lastTry: Int64
    /// Unix seconds of the next attempt.
    public var nextTry: Int64
    /// The last reply or connection failure (for `show queue` and the bounce).
    public var lastError: String
    /// Unix seconds: arrival + the latest `bounce warn-interval` the sender was warned of
    /// (OpenSMTPD's `lastbounce`); 0 if none. Kept in the spool so a restart does not warn
    /// again.
    public var lastWarning: Int64

    public init(
        address: MailAddress, action: String, dsn: RecipientDSN = RecipientDSN(),
        state: State = .pending, attempts: Int = 0, lastTry: Int64 = 0, nextTry: Int64 = 0,
        lastError: String = "", lastWarning: Int64 = 0
    ) {
        self.address = address
        self.action = action
        self.dsn = dsn
        self.state = state
        self.attempts = attempts
        self.lastTry = lastTry
        self.nextTry = nextTry
        self.lastError = lastError
        self.lastWarning = lastWarning
    }
}
