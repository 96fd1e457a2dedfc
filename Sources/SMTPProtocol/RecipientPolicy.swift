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
    /// Whose the Maildir's files are: the store writes them as this user (a home Maildir,
    /// `action … user NAME`); nil: as smtpd itself (a fixed path such as a lab's).
    public var owner: MailboxOwner?

    public init(
        action: String, user: String, mailbox: String, relays: Bool = false,
        owner: MailboxOwner? = nil
    ) {
        self.action = action
        self.user = user
        self.mailbox = mailbox
        self.relays = relays
        self.owner = owner
    }

    /// A recipient of the relay action `action`.
    public static func relay(action: String) -> RecipientRoute {
        RecipientRoute(action: action, user: "", mailbox: "", relays: true)
    }
}

/// The system user a delivery writes as: the ids the kernel checks and records (pure values;
/// the store turns them into the writer thread's file-system identity).
public struct MailboxOwner: Sendable, Hashable {
    public var name: String
    public var user: UInt32
    public var group: UInt32
    /// Primary and supplementary groups.
    public var groups: [UInt32]

    public init(name: String, user: UInt32, group: UInt32, groups: [UInt32]) {
        self.name = name
        self.user = user
        self.group = group
        self.groups = groups
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
