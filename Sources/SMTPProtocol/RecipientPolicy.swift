/// What the policy knows about the transaction when it judges a recipient.
public struct RecipientContext: Sendable {
    public var peer: PeerInfo
    public var heloName: String
    public var sender: ReversePath
    /// The AUTH user name; nil for a client that did not authenticate (`match auth`).
    public var authenticatedUser: String?
    /// Under TLS (`match tls`).
    public var isSecure: Bool

    public init(
        peer: PeerInfo, heloName: String, sender: ReversePath, authenticatedUser: String? = nil,
        isSecure: Bool = false
    ) {
        self.peer = peer
        self.heloName = heloName
        self.sender = sender
        self.authenticatedUser = authenticatedUser
        self.isSecure = isSecure
    }
}

/// Where an accepted recipient goes (decided by the server's configuration).
public struct RecipientRoute: Sendable, Hashable {
    /// Name of the configured action (`"local"`).
    public var action: String
    /// System user the delivery runs as.
    public var user: String
    /// Maildir path (empty for a relayed recipient).
    public var mailbox: String
    /// The action relays (`action NAME relay …`): the recipient goes to the queue, not to a
    /// Maildir.
    public var relays: Bool

    public init(action: String, user: String, mailbox: String, relays: Bool = false) {
        self.action = action
        self.user = user
        self.mailbox = mailbox
        self.relays = relays
    }

    /// A recipient of the relay action `action`.
    public static func relay(action: String) -> RecipientRoute {
        RecipientRoute(action: action, user: "", mailbox: "", relays: true)
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
