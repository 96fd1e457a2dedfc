/// What the policy knows about the transaction when it judges a recipient.
public struct RecipientContext: Sendable {
    public var peer: PeerInfo
    public var heloName: String
    public var sender: ReversePath

    public init(peer: PeerInfo, heloName: String, sender: ReversePath) {
        self.peer = peer
        self.heloName = heloName
        self.sender = sender
    }
}

/// Where an accepted recipient goes (decided by the server's configuration).
public struct RecipientRoute: Sendable, Hashable {
    /// Name of the configured action (`"local"`).
    public var action: String
    /// System user the delivery runs as.
    public var user: String
    /// Maildir path.
    public var mailbox: String

    public init(action: String, user: String, mailbox: String) {
        self.action = action
        self.user = user
        self.mailbox = mailbox
    }
}

/// The answer to one RCPT TO.
public enum RecipientVerdict: Sendable, Equatable {
    /// `250 2.1.5 Destination address valid: Recipient ok`
    case accept(RecipientRoute)
    /// `550 Invalid recipient: <addr>` (no rule, reject rule, unknown user)
    case reject
    /// `451 Temporary failure: <addr>`
    case temporaryFailure
}

/// Decides recipients; OpenSMTPD's `lka` rule matching and user lookup.
public protocol RecipientPolicy: Sendable {
    func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict
}
