/// One envelope as `show queue` prints it (the fields of OpenSMTPD's `struct envelope` that
/// its listing shows).
public struct ListedEnvelope: Sendable, Equatable {
    public enum RunState: Sendable, Equatable {
        case pending
        case inflight
    }
    public var id: UInt64
    /// Empty for the null sender.
    public var sender: String
    public var recipient: String
    public var state: RunState
    /// Unix seconds.
    public var created: Int64
    public var expires: Int64
    public var lastTry: Int64
    public var nextTry: Int64
    public var retries: Int
    public var lastError: String

    public init(
        id: UInt64, sender: String, recipient: String, state: RunState, created: Int64,
        expires: Int64, lastTry: Int64, nextTry: Int64, retries: Int, lastError: String
    ) {
        self.id = id
        self.sender = sender
        self.recipient = recipient
        self.state = state
        self.created = created
        self.expires = expires
        self.lastTry = lastTry
        self.nextTry = nextTry
        self.retries = retries
        self.lastError = lastError
    }
}

/// The texts of `show queue` and `show stats`, field for field as OpenSMTPD 6.8's smtpctl
/// prints them (`show_queue_envelope`, `do_show_stats` in smtpctl.c).
public enum ControlListing {
    /// `ID|SRC|AGENT|FLAGS|SENDER|RCPT|DEST|CREATED|EXPIRES|LASTTRY|RETRIES|RUNSTATE|ERROR`:
    /// every envelope here is a relay one (`mta`); MailLab keeps no source address family
    /// with an envelope, so SRC is OpenSMTPD's `?` for unknown; there are no bounce, hold or
    /// suspend flags, so FLAGS is empty; DEST is the recipient (MailLab expands no aliases
    /// before the queue). RUNSTATE is `pending|SECONDS-UNTIL-NEXT-TRY` or
    /// `inflight|SECONDS-SINCE-LAST-TRY`. The error is escaped as strnvis(3) does (`\n`,
    /// `\^A`, octal above 0x7e).
    public static func queueLine(_ envelope: ListedEnvelope, now: Int64) -> String {
        let runstate =
            switch envelope.state {
            case .pending: "pending|\(envelope.nextTry - now)"
            case .inflight: "inflight|\(now - envelope.lastTry)"
            }
        let fields = [
            hex(envelope.id, digits: 16), "?", "mta", "", atForm(envelope.sender),
            atForm(envelope.recipient), atForm(envelope.recipient), String(envelope.created),
            String(envelope.expires), String(envelope.lastTry), String(envelope.retries),
            runstate, visible(envelope.lastError),
        ]
        return fields.joined(separator: "|")
    }

    /// `user@domain` with the empty sender as OpenSMTPD shows it: `@`.
    static func atForm(_ address: String) -> String { address.isEmpty ? "@" : address }

    /// strnvis(3) with no flags: backslash, control and non-ASCII bytes made visible.
    static func visible(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x00...0x1F: out += "\\^" + String(Unicode.Scalar(byte + 0x40))
            case 0x7F: out += "\\^?"
            default:
                let octal = String(byte, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return out
    }

    /// `name=value` lines in the order of the names (OpenSMTPD's stat backend is a sorted
    /// tree), with `uptime=SECONDS` and `uptime.human=…` among them.
    public static func statsLines(
        _ counters: [(name: String, value: Int)], startedAt: Int64, now: Int64
    ) -> [String] {
        let uptime = max(0, now - startedAt)
        var entries = counters.map { ($0.name, String($0.value)) }
        entries.append(("uptime", String(uptime)))
        entries.append(("uptime.human", durationText(uptime)))
        return entries.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
    }

    /// OpenSMTPD's `duration_to_text`: `1d2h3m4s`, parts that are 0 left out, `0s` for 0.
    public static func durationText(_ seconds: Int64) -> String {
        guard seconds > 0 else { return "0s" }
        let days = seconds / 86_400
        let hours = seconds % 86_400 / 3_600
        let minutes = seconds % 3_600 / 60
        let rest = seconds % 60
        var text = ""
        if days > 0 { text += "\(days)d" }
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 { text += "\(minutes)m" }
        if rest > 0 { text += "\(rest)s" }
        return text
    }
}
