/// `pki NAME cert "F" key "F" dhe …` (old: `certificate`).
public struct PKIDeclaration: Sendable, Hashable {
    public var certificate: String?
    public var key: String?
    public var dhe: String?
    public var location: SourceLocation

    public init(
        certificate: String? = nil, key: String? = nil, dhe: String? = nil,
        location: SourceLocation
    ) {
        self.certificate = certificate
        self.key = key
        self.dhe = dhe
        self.location = location
    }
}

/// Queue settings: parsed so that real configurations load; MailLab delivers at once and
/// keeps no queue, so the server ignores them.
public struct QueueSettings: Sendable, Hashable {
    public var compression = false
    public var encryption = false
    public var encryptionKey: String?
    /// Seconds; `queue ttl` (old: top-level `expire`). Default 4 days.
    public var ttl = 4 * 86_400
    /// Seconds; `bounce warn-interval` (old: `bounce-warn`). Default 4 hours.
    public var bounceWarnIntervals = [4 * 3_600]

    public init() {}
}

/// The whole configuration: one model for both grammars. An old `accept … deliver to …`
/// line becomes an action plus a rule; old and new statements may be mixed in one file
/// (OpenSMTPD 6.4+ refuses the old ones; MailLab accepts both on purpose).
public struct SMTPConfiguration: Sendable {
    public var listeners: [ListenDirective] = []
    /// In declaration order.
    public var actions: [ActionDirective] = []
    /// In file order: the first matching rule wins.
    public var rules: [MatchRule] = []
    public var tables: [String: Table] = [:]
    public var tableLocations: [String: SourceLocation] = [:]
    /// `smtp limit max-rcpt` (old: `limit session max-rcpt`).
    public var maxRecipients = 1000
    /// `smtp limit max-mails` (old: `limit session max-mails`).
    public var maxMailsPerSession = 100
    /// Bytes; `smtp max-message-size` (old: top-level `max-message-size`). Default 35M.
    public var maxMessageSize = 36_700_160
    /// `smtp sub-addr-delim` (old: `subaddressing-delimiter`).
    public var subaddressDelimiter = "+"
    public var pkis: [String: PKIDeclaration] = [:]
    /// CA name → certificate file.
    public var cas: [String: String] = [:]
    public var queue = QueueSettings()
    /// `smtp ciphers` (old: `ciphers`).
    public var ciphers: String?
    /// `mda wrapper NAME "CMD"`.
    public var mdaWrappers: [String: String] = [:]
    /// Names declared by `filter NAME …` (filters themselves are not modelled).
    public var filters: Set<String> = []
    /// Parsed and ignored by the server (no outgoing mail, no scheduler in MailLab).
    public var mtaMaxDeferred: Int?
    public var srsKey: String?
    public var admd: String?
    /// The macros in force at the end of the file (after `-D` overrides).
    public var macros: [String: String] = [:]

    public init() {}

    /// The contents behind a table reference (nil only for a name never declared, which a
    /// parsed configuration cannot hold).
    public func table(_ reference: TableRef) -> Table? {
        switch reference {
        case .named(let name): return tables[name]
        case .inline(let table): return table
        }
    }

    /// The action called `name`, if declared.
    public func action(named name: String) -> ActionDirective? {
        actions.first { $0.name == name }
    }
}
