/// What a matching rule does.
public enum Decision: Sendable, Hashable {
    /// Deliver with the named action (OpenSMTPD calls it a dispatcher).
    case action(String)
    /// Refuse the recipient (`550 Invalid recipient`).
    case reject
}

/// The test of one condition of a rule. Tables hold addresses, domains (with `*`
/// wildcards kept as written), user names, tags… depending on the kind.
public enum ConditionKind: Sendable, Hashable {
    case fromAny
    case fromLocal
    case fromSocket
    case fromSource(TableRef)
    case fromRDNS(TableRef?)
    /// 6.4+: matches any source and requires authentication (by the users in the table).
    case fromAuth(TableRef?)
    /// 6.4+: matches any source and tests the envelope sender.
    case fromMailFrom(TableRef)
    case forAny
    case forLocal
    case forDomain(TableRef)
    /// 6.4+: matches any destination and tests the envelope recipient.
    case forRcptTo(TableRef)
    /// `tag T|<t>` (old: `tagged T`).
    case tag(TableRef)
    case helo(TableRef)
    /// `auth [<t>]` (old: `authenticated`).
    case auth(TableRef?)
    /// `mail-from …` (old: `sender <t>`).
    case mailFrom(TableRef)
    /// `rcpt-to …` (old: `recipient <t>`).
    case rcptTo(TableRef)
    case tls

    /// `from …` and `for …` are the two groups every rule has (defaults: local).
    var group: String {
        switch self {
        case .fromAny, .fromLocal, .fromSocket, .fromSource, .fromRDNS, .fromAuth,
            .fromMailFrom:
            return "from"
        case .forAny, .forLocal, .forDomain, .forRcptTo: return "for"
        case .tag: return "tag"
        case .helo: return "helo"
        case .auth: return "auth"
        case .mailFrom: return "mail-from"
        case .rcptTo: return "rcpt-to"
        case .tls: return "tls"
        }
    }
}

/// One condition; all conditions of a rule must hold.
public struct MatchCondition: Sendable, Hashable {
    /// `! cond` (6.4+) or `from ! local` (old).
    public var negated: Bool
    /// The table holds regular expressions (`from src regex <t>`).
    public var regex: Bool
    public var kind: ConditionKind

    public init(negated: Bool = false, regex: Bool = false, _ kind: ConditionKind) {
        self.negated = negated
        self.regex = regex
        self.kind = kind
    }
}

/// One `match … action NAME|reject` (or an old `accept`/`reject` line). Rules are tried
/// in file order; the first whose conditions all hold decides. The `from` condition comes
/// first and the `for` condition second (filled with `from local`/`for local` when the
/// line has none), then the others as written.
public struct MatchRule: Sendable, Hashable {
    public var conditions: [MatchCondition]
    public var decision: Decision
    public var location: SourceLocation

    public init(conditions: [MatchCondition], decision: Decision, location: SourceLocation) {
        self.conditions = conditions
        self.decision = decision
        self.location = location
    }
}
