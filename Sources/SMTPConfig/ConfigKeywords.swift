/// Reserved words. A reserved word cannot be used unquoted as a name or value: OpenSMTPD's
/// lexer turns it into a keyword token (`action local …` is a syntax error there; the
/// default configurations write `action "local" …`). Which list applies depends on the
/// statement: 6.4+ statements use the 6.8 list, old-only statements the 6.0 list, so a
/// valid file of either grammar keeps its meaning.
enum Keywords {
    /// `lookup()` in 6.8 `parse.y`.
    static let new: Set<String> = [
        "action", "admd", "alias", "any", "auth", "auth-optional", "backup", "bounce",
        "bypass", "ca", "cert", "chain", "chroot", "ciphers", "commit", "compression",
        "connect", "data", "data-line", "dhe", "disconnect", "domain", "ehlo", "encryption",
        "expand-only", "fcrdns", "filter", "for", "forward-only", "from", "group", "helo",
        "helo-src", "host", "hostname", "hostnames", "include", "inet4", "inet6", "junk",
        "key", "limit", "listen", "lmtp", "local", "mail-from", "maildir", "mask-src",
        "masquerade", "match", "max-deferred", "max-message-size", "mbox", "mda", "mta", "mx",
        "no-dsn", "no-verify", "noop", "on", "phase", "pki", "port", "proc", "proc-exec",
        "protocols", "proxy-v2", "queue", "quit", "rcpt-to", "rdns", "received-auth",
        "recipient", "regex", "reject", "relay", "report", "rewrite", "rset", "scheduler",
        "senders", "smtp", "smtp-in", "smtp-out", "smtps", "socket", "src", "srs",
        "sub-addr-delim", "table", "tag", "tagged", "tls", "tls-require", "ttl", "user",
        "userbase", "verify", "virtual", "warn-interval", "wrapper",
    ]

    /// The 6.0.x keywords (reconstructed from its grammar; see the reference §1.2).
    static let old: Set<String> = [
        "accept", "alias", "any", "as", "auth", "auth-optional", "authenticated", "backup",
        "bounce-warn", "ca", "certificate", "ciphers", "compression", "deliver", "dhe",
        "domain", "encryption", "expire", "filter", "for", "forward-only", "from", "hostname",
        "hostnames", "include", "inet4", "inet6", "key", "limit", "listen", "lmtp", "local",
        "maildir", "mask-source", "masquerade", "max-message-size", "max-mta-deferred", "mbox",
        "mda", "no-dsn", "on", "pki", "port", "queue", "rcpt-to", "received-auth", "recipient",
        "reject", "relay", "scheduler", "secure", "sender", "senders", "session", "smtps",
        "socket", "source", "subaddressing-delimiter", "table", "tag", "tagged", "tls",
        "tls-require", "to", "userbase", "verify", "via", "virtual",
    ]

    /// Words that start a statement: a line inside an unclosed `{` that starts with one of
    /// them means the `}` was forgotten.
    static let statements: Set<String> = [
        "include", "listen", "action", "match", "table", "pki", "ca", "smtp", "queue",
        "bounce", "mta", "mda", "scheduler", "srs", "admd", "proc", "filter", "accept",
        "reject", "limit", "max-message-size", "expire", "bounce-warn", "max-mta-deferred",
        "ciphers", "subaddressing-delimiter", "fault", "control",
        "transcript",
    ]

    /// Words only MailLab accepts (OpenSMTPD 6.8 refuses a file using them): smtpd.conf(5)
    /// marks each "MailLab:" (InstallTests checks it).
    static let mailLab: Set<String> = [
        "fault", "seed", "at", "probability", "reply", "delay", "fin", "rst", "accept-and-drop",
        "banner", "starttls", "after-data", "client", "message", "control", "timeout",
        "command", "max-sessions", "max-sessions-per-address", "directory", "retry",
        "auth-plaintext", "auth-accept-any", "no-8bitmime", "no-chunking", "no-pipelining",
        "no-smtputf8", "transcript", "max-size", "throttle", "partial-reply", "bytes", "bdat",
        "body",
    ]
}
