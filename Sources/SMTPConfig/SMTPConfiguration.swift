import SMTPProtocol

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

/// Queue settings. `ttl`, the bounce warnings and MailLab's `directory` and `retry` are
/// used by the relay queue; compression and encryption are parsed so that real
/// configurations load, and ignored.
public struct QueueSettings: Sendable, Hashable {
    /// MailLab `queue directory "PATH"`: where relayed messages wait (OpenSMTPD's is fixed at
    /// build time; a lab runs several smtpd on one host, each needs its own). nil: the
    /// default, `/var/spool/maillab`.
    public var directory: String?
    /// MailLab `queue retry MIN [MAX]`: seconds before the first retry of a deferred
    /// recipient, doubled per attempt up to `retryMax`.
    public var retryMin = 60
    public var retryMax = 3_600
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
    /// MailLab: `smtp timeout command|data|session DURATION`.
    public var timeouts = SMTPTimeouts()
    /// MailLab: `fault at STAGE ACTION …`, in file order (docs/FAULTS.md).
    public var faults: [FaultRule] = []
    /// MailLab: `fault seed N`; nil: a random seed, logged at start.
    public var faultSeed: UInt64?
    /// MailLab: `control socket PATH` (nil: smtpd's `-s`, else /var/run/smtpd.sock).
    public var controlSocket: String?
    /// MailLab: `control group NAME`: its members may use the control socket besides root.
    public var controlGroup: String?
    public var controlGroupLocation: SourceLocation?
    /// MailLab: `transcript directory "PATH" [max-size SIZE]` (nil: no transcripts).
    public var transcripts: TranscriptSettings?
    /// MailLab: `smtp limit max-sessions N` (nil: as many as the descriptor limit allows).
    public var maxSessions: Int?
    /// MailLab: `smtp limit max-sessions-per-address N` (nil: no limit, so that a benchmark
    /// from one address is not throttled).
    public var maxSessionsPerAddress: Int?
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

/// MailLab's session deadlines beside OpenSMTPD's `smtp` settings, in seconds. Unlike the
/// idle timeout, no byte from the client moves them: a client dripping a byte at a time
/// cannot hold a session (and its buffers and slot) for ever.
public struct SMTPTimeouts: Sendable, Equatable {
    /// A command line must be complete this long after its first byte (RFC 5321 §4.5.3.2:
    /// 5 minutes for each command).
    public var command = 300
    /// The whole DATA phase, from the 354 to the final dot (RFC 5321 §4.5.3.2.6: the server
    /// waits 10 minutes for the terminating dot).
    public var data = 600
    /// The whole session, from the banner.
    public var session = 3_600

    public init() {}
}
