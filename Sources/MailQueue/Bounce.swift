import SMTPProtocol

/// RFC 3464 delivery status notifications for the recipients a relay could not deliver:
/// `multipart/report; report-type=delivery-status` with a human-readable part, a
/// `message/delivery-status` part and the original message (RET=FULL) or its header
/// (otherwise). Sent from `<>`, so it is never bounced itself. Pure: the caller gives the
/// time and the names. OpenSMTPD: `bounce.c`.
public enum Bounce {
    /// One recipient the notification reports.
    public struct Failure: Sendable, Equatable {
        public var recipient: QueuedRecipient
        /// RFC 3463 status, `5.1.1`.
        public var status: String
        /// The next hop's reply or the local reason, one line.
        public var diagnostic: String
        /// The next hop that answered, if one did.
        public var remoteMTA: String?

        public init(
            recipient: QueuedRecipient, status: String, diagnostic: String,
            remoteMTA: String? = nil
        ) {
            self.recipient = recipient
            self.status = status
            self.diagnostic = diagnostic
            self.remoteMTA = remoteMTA
        }
    }

    /// What makes a notification a delay warning (`Action: delayed`) rather than a bounce.
    public struct Delay: Sendable, Equatable {
        /// The `bounce warn-interval` passed (seconds).
        public var interval: Int
        /// Unix seconds: when the reported recipients bounce if still undelivered.
        public var retryUntil: Int64

        public init(interval: Int, retryUntil: Int64) {
            self.interval = interval
            self.retryUntil = retryUntil
        }
    }

    /// Whether `recipient` wants a delay warning (RFC 3461 §4.1: without NOTIFY, the MTA
    /// may warn, and MailLab does as OpenSMTPD; NOTIFY=NEVER or a list without DELAY
    /// silences it. OpenSMTPD 6.8 honours only NEVER.)
    public static func wantsDelayNotice(_ recipient: QueuedRecipient) -> Bool {
        let notify = recipient.dsn.notify
        return notify.isEmpty || notify.contains(.delay)
    }

    /// The warn interval a recipient that was just deferred is to be warned of now, if any
    /// (OpenSMTPD `scheduler.c`, on a temporary failure): the first of `intervals` whose
    /// point (arrival + interval) the next attempt will not come before and that no warning
    /// covered yet. One per failure, so a recipient passing two points between attempts
    /// hears of the second at its next failure. None for `<>`, for a recipient no longer
    /// pending or not wanting it, nor for a point at or after `expires` (the bounce says it
    /// then).
    public static func dueDelayWarning(
        for recipient: QueuedRecipient, of message: QueuedMessage, intervals: [Int],
        expires: Int64
    ) -> Int? {
        guard case .address = message.sender, recipient.state == .pending,
            wantsDelayNotice(recipient)
        else { return nil }
        for interval in intervals where interval > 0 {
            let point = message.created + Int64(interval)
            if recipient.nextTry >= point && recipient.lastWarning < point && point < expires {
                return interval
            }
        }
        return nil
    }

    /// The status a delay warning gives: the reply's when it is temporary, else `4.0.0`
    /// (a connection failure has no code).
    public static func delayStatus(of reply: String) -> String {
        let status = status(of: reply)
        return status.hasPrefix("4.") ? status : "4.0.0"
    }

    /// `2 hours`, `1 day`: a duration as OpenSMTPD's `bounce_duration` writes it.
    public static func duration(_ seconds: Int64) -> String {
        let count: Int64
        let unit: String
        if seconds < 60 {
            (count, unit) = (seconds, "second")
        } else if seconds < 3_600 {
            (count, unit) = (seconds / 60, "minute")
        } else if seconds < 86_400 {
            (count, unit) = (seconds / 3_600, "hour")
        } else {
            (count, unit) = (seconds / 86_400, "day")
        }
        return "\(count) \(unit)\(count == 1 ? "" : "s")"
    }

    /// Whether `recipient` wants a failure notification (RFC 3461 §4.1: without NOTIFY,
    /// failures are reported; NOTIFY=NEVER or a list without FAILURE silences it).
    public static func wantsFailureNotice(_ recipient: QueuedRecipient) -> Bool {
        let notify = recipient.dsn.notify
        return notify.isEmpty || notify.contains(.failure)
    }

    /// The notification's content (header and body, LF line ends); nil for a message from
    /// `<>` (a bounce is never bounced) or without failures. With `delay`, a warning about
    /// recipients still queued (`failures` are then the delayed ones, `Action: delayed`).
    /// `original` (the message's stored form, or a prefix holding its header section) is
    /// asked for only when a notice is due.
    public static func compose(
        for message: QueuedMessage, original: @autoclosure () -> [UInt8], failures: [Failure],
        reportingMTA: String, now: Int64, notificationID: String, delay: Delay? = nil
    ) -> [UInt8]? {
        guard case .address(let sender) = message.sender, !failures.isEmpty else { return nil }
        let boundary = "\(notificationID)/\(reportingMTA)"
        var text = """
            From: Mail Delivery Subsystem <MAILER-DAEMON@\(reportingMTA)>
            To: \(sender)
            Subject: Delivery status notification: \(delay == nil ? "error" : "delayed")
            Date: \(DateText.format(unixSeconds: now))
            Message-ID: <\(notificationID)@\(reportingMTA)>
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status;
            \tboundary="\(boundary)"
            Auto-Submitted: auto-replied

            This is a MIME-encapsulated message.

            --\(boundary)
            Content-Description: Notification
            Content-Type: text/plain; charset=us-ascii

            This is the mail system at \(reportingMTA).


            """
        if let delay {
            text += "Your message is delayed for more than \(duration(Int64(delay.interval)))"
            text += " for the following recipients:\n"
        } else {
            text += "Your message could not be delivered to the following recipients:\n"
        }
        for failure in failures {
            text += "    <\(failure.recipient.address)>: \(oneLine(failure.diagnostic))\n"
        }
        if let delay {
            let kept = duration(max(0, delay.retryUntil - message.created))
            text += "\nThis is only a temporary failure report. The message stays in the queue\n"
            text += "for up to \(kept) and is tried again; do not send it again.\n"
        }
        text += """

            --\(boundary)
            Content-Description: Delivery Status
            Content-Type: message/delivery-status

            Reporting-MTA: dns; \(reportingMTA)

            """
        if let envid = message.dsn.envelopeID {
            text += "Original-Envelope-Id: \(decodedField(envid, message.dsn.decodedEnvelopeID))\n"
        }
        text += "Arrival-Date: \(DateText.format(unixSeconds: message.created))\n"
        for failure in failures {
            text += "\nFinal-Recipient: rfc822; \(failure.recipient.address)\n"
            if let orcpt = failure.recipient.dsn.originalRecipient,
                let semicolon = orcpt.firstIndex(of: ";")
            {
                let type = orcpt[..<semicolon]
                let address = decodedField(
                    String(orcpt[orcpt.index(after: semicolon)...]),
                    failure.recipient.dsn.originalRecipientAddress)
                text += "Original-Recipient: \(type); \(address)\n"
            }
            text += "Action: \(delay == nil ? "failed" : "delayed")\n"
            text += "Status: \(failure.status)\n"
            if let remote = failure.remoteMTA { text += "Remote-MTA: dns; \(remote)\n" }
            text += "Diagnostic-Code: smtp; \(oneLine(failure.diagnostic))\n"
            if failure.recipient.lastTry > 0 {
                text +=
                    "Last-Attempt-Date: \(DateText.format(unixSeconds: failure.recipient.lastTry))\n"
            }
            if let delay {
                text += "Will-Retry-Until: \(DateText.format(unixSeconds: delay.retryUntil))\n"
            }
        }
        let full = message.dsn.ret == .full
        text += """

            --\(boundary)
            Content-Description: \(full ? "Undelivered Message" : "Message Headers")
            Content-Type: \(full ? "message/rfc822" : "text/rfc822-headers")


            """
        var bytes = Array(text.utf8)
        let quoted = original()
        bytes += full ? quoted : header(of: quoted)
        if bytes.last != 10 { bytes.append(10) }
        bytes += Array("\n--\(boundary)--\n".utf8)
        return bytes
    }

    /// The status of a reply (`550 5.1.1 …`) or of a local reason (`4.4.7 …`): its
    /// enhanced code, else one made from its class (`5.0.0`, `4.0.0`).
    public static func status(of reply: String) -> String {
        for word in reply.split(separator: " ", maxSplits: 2).prefix(2) {
            let parts = word.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }),
                ["2", "4", "5"].contains(parts[0])
            {
                return String(word)
            }
        }
        if let first = reply.first, first == "4" { return "4.0.0" }
        return "5.0.0"
    }

    /// The header section, up to and without the empty line.
    static func header(of content: [UInt8]) -> [UInt8] {
        var index = 0
        var lineStart = true
        while index < content.count {
            if lineStart && content[index] == 10 { return Array(content[..<index]) }
            lineStart = content[index] == 10
            index += 1
        }
        return content
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 })
    }

    /// A DSN field from an xtext parameter (RFC 3464 §2.2.1, §2.3.1: the decoded value).
    /// A value that does not decode, or decodes to a control character (a CR LF would start
    /// a field of the sender's making), stays as sent: xtext is printable ASCII.
    static func decodedField(_ raw: String, _ decoded: String?) -> String {
        guard let decoded,
            !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return raw }
        return decoded
    }
}
