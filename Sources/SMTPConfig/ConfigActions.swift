/// Options of a `relay` action (6.4+ names; the old `relay via`/`as`/`source`/`hostname`
/// options map onto them: `via URL` → `host`, `as A` → `mailFrom`, `source` → `source`,
/// `hostname` → `helo`, `hostnames` → `heloSource`).
public struct RelayOptions: Sendable, Hashable {
    public var helo: String?
    public var heloSource: TableRef?
    public var pki: String?
    public var ca: String?
    public var ciphers: String?
    public var protocols: String?
    public var source: TableRef?
    public var mailFrom: String?
    public var backup = false
    public var backupMX: String?
    /// `host URL|<t>` (old `via URL`).
    public var host: TableRef?
    /// `host URL` (old `via URL`) with one URL, parsed; nil for MX relays and host tables.
    public var url: RelayURL?
    public var domain: TableRef?
    public var tls = false
    /// 6.4+: `tls` verifies, `tls no-verify` does not; old grammar: `tls verify` verifies.
    public var tlsVerify = false
    public var auth: TableRef?
    public var filter: String?
    public var srs = false

    public init() {}
}

/// How an action delivers.
public enum DeliveryMethod: Sendable, Hashable {
    /// `maildir ["PATH"] [junk]`; nil path = `~/Maildir` of the recipient. The path may hold
    /// `%{…}` format specifiers and may start with `~/`; a relative path is a MailLab
    /// extension (resolved by the server against its working directory).
    case maildir(path: String?, junk: Bool)
    case mbox
    case lmtp(destination: String, rcptTo: Bool)
    case mda(command: String)
    case expandOnly
    case forwardOnly
    case relay(RelayOptions)
}

/// One `action NAME METHOD …` (or the action synthesized from an old `accept` line).
public struct ActionDirective: Sendable, Hashable {
    public var name: String
    public var method: DeliveryMethod
    public var alias: TableRef?
    public var virtual: TableRef?
    public var userbase: TableRef?
    public var user: String?
    public var wrapper: String?
    /// Seconds (`ttl 4d`; old grammar: `expire 4d` on the `accept` line).
    public var ttl: Int?
    public var location: SourceLocation

    public init(name: String, method: DeliveryMethod, location: SourceLocation) {
        self.name = name
        self.method = method
        self.location = location
    }
}
