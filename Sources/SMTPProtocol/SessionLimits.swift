/// Every limit of an SMTP session, named once with its default.
///
/// Defaults are OpenSMTPD 6.8's (`smtpd.h`, `smtp_session.c`, `config.c`); where MailLab
/// departs from OpenSMTPD the departure is written next to the limit.
public struct SessionLimits: Sendable, Equatable {
    /// A command line of this many bytes or more (CR stripped) is refused with
    /// `500 5.0.0 Command line too long` and the session is closed.
    /// OpenSMTPD: `LINE_MAX` (2048) sized `s->cmd` in `smtp_session.c`.
    public var commandLineMax = 2048

    /// Any line (command or DATA) of this many bytes or more, counted without the LF but with
    /// a trailing CR, or this many bytes buffered without an LF, gives `500 5.0.0 Line too long`
    /// and closes the session. OpenSMTPD: `SMTP_LINE_MAX` (65535).
    public var lineMax = 65535

    /// Recipients per transaction; one more gets
    /// `451 4.5.3 Too many recipients: Too many recipients`. OpenSMTPD: `smtp limit max-rcpt`.
    public var maxRecipients = 1000

    /// Messages per session; the next MAIL gets
    /// `452 4.5.3 Too many recipients: Too many messages sent`. OpenSMTPD: `smtp limit max-mails`.
    public var maxMessagesPerSession = 100

    /// Maximum message size, advertised as `SIZE n` in EHLO. Counted as OpenSMTPD does: the sum
    /// of (line length after CR strip + 1) over all DATA lines before dot-unstuffing, without the
    /// final dot; exceeding it gives `554 5.3.4` after the final dot.
    /// Departure: a `SIZE=` parameter above it is refused at MAIL with `552 5.3.4` (OpenSMTPD
    /// ignores `SIZE=`). OpenSMTPD: `smtp max-message-size`, default 35 MiB.
    public var maxMessageSize = 36_700_160

    /// The `Received:` header with this ordinal rejects the message with
    /// `500 5.4.6 Routing loop detected: Loop detected` (99 pass). OpenSMTPD: `MAX_HOPS_COUNT`.
    public var maxReceivedHeaders = 100

    /// After this many 4xx/5xx replies in one session the server sends
    /// `421 4.7.0 <name> Too many errors, closing connection` and closes.
    /// Departure: OpenSMTPD has no error limit (Postfix: `smtpd_hard_error_limit`).
    public var maxErrors = 100

    /// Longest `ENVID=` value. OpenSMTPD: `DSN_ENVID_LEN`.
    public var maxEnvelopeIDLength = 100

    /// Longest local part and domain of an address. OpenSMTPD: `SMTPD_MAXLOCALPARTSIZE` and
    /// `SMTPD_MAXDOMAINPARTSIZE` (256 including the NUL).
    public var maxLocalPartLength = 255
    public var maxDomainLength = 255

    /// Longest header name and longest collected From/To/Cc value before the message is
    /// refused as not RFC 2822 compliant. OpenSMTPD: `rfc5322.c` buffer limits.
    public var maxHeaderNameLength = 1023
    public var maxAddressHeaderLength = 65535

    /// Longest reply line including CRLF; echoed client text is cut to fit.
    /// RFC 5321 §4.5.3.1.5 (OpenSMTPD truncates only at 4096).
    public var replyLineMax = 512

    /// Failed AUTH attempts (535) per session; the last one is followed by
    /// `421 4.7.0 <name> Too many authentication failures, closing connection`.
    /// Departure: OpenSMTPD only delays each 535 by a random 0–1 s (its owner does that here)
    /// and never closes for it (Postfix: `smtpd_hard_error_limit`).
    public var maxAuthFailures = 3

    /// Longest decoded AUTH response (PLAIN's whole `authzid NUL authcid NUL passwd`, LOGIN's
    /// user name or password); more is `501 5.5.2 Syntax error: Syntax error`.
    /// OpenSMTPD: the 1024-byte `buf` of `smtp_rfc4954_auth_plain`, NUL included.
    public var maxAuthResponseLength = 1023

    public init() {}
}
