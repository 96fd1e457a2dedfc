// Golden SMTP dialogues as data: client bytes in, exact reply lines out.
//
// Source: /work/shared/reference/opensmtpd-6.8.md §7.2 and Appendix A.1–A.3 (OpenSMTPD
// 6.8.0p2, verbatim), converted mechanically, with these substitutions:
// - the banner is checked separately ("220 vm ESMTP MailLab");
// - HELP names MailLab and our command list;
// - EHLO runs with `advertisePipelining = false`, as OpenSMTPD has no PIPELINING;
// - message ids in "250 2.0.0 <id> Message accepted" are compared as "any 8 hex digits";
// - departures from OpenSMTPD (strict line endings, pipelining, SIZE= at MAIL) are marked
//   with a comment where the expected reply differs from the recorded one.
// Annotations of the recording (`<'X' * 2000>`, `<11 lines of 'x'*99>`, …) are expanded by the
// helpers at the end of this file.

struct Transcript: Sendable, CustomStringConvertible {
    enum Instance: Sendable {
        /// §7.1 main.conf: default limits.
        case reference
        /// A.3: `smtp max-message-size 1000`, `max-rcpt 2`, `max-mails 2`.
        case smallInstance
    }

    enum Step: Sendable {
        /// Client bytes (one write), the reply lines expected after them (without CRLF), and
        /// whether the server closes afterwards.
        case send(String, [String], closes: Bool = false)
        /// The client closes its side.
        case disconnect
    }

    let name: String
    var limits: Instance = .reference
    let steps: [Step]

    var description: String { name }

    init(name: String, limits: Instance = .reference, steps: [Step]) {
        self.name = name
        self.limits = limits
        self.steps = steps
    }
}

enum Transcripts {
    /// §7.2, the required dialogue (RCPT to root, accepted at RCPT time).
    static let requiredDialogue = Transcript(
        name: "required-dialogue-7.2",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send(
                "MAIL FROM: abgelaescht@ausgebuefft\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM: <abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO: <root@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: test\r\n\r\nfirst body line\r\nsecond body line\r\n", []),
            .send(".\r\n", ["250 2.0.0 c54610f7 Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let ehlo = Transcript(
        name: "ehlo",
        steps: [
            .send(
                "EHLO defaultNS\r\n",
                [
                    "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-SIZE 36700160", "250-DSN", "250 HELP",
                ]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let beforeHelo = Transcript(
        name: "before-helo",
        steps: [
            .send("NOOP\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send(
                "MAIL FROM:<a@b.example>\r\n",
                ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send("DATA\r\n", ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send(
                "HELP\r\n",
                [
                    "214-2.0.0 This is MailLab",
                    "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP HELP QUIT",
                    "214-2.0.0 To report problems, contact the postmaster of this server",
                    "214 2.0.0 End of HELP info",
                ]),
            .send("HELO\r\n", ["501 5.5.1 Invalid command: HELO requires domain name"]),
            .send(
                "HELO bad name\r\n", ["501 5.5.4 Invalid command arguments: Invalid domain name"]),
            .send("HELO [x]\r\n", ["501 5.5.4 Invalid command arguments: Invalid domain name"]),
            .send("EHLO\r\n", ["501 5.5.1 Invalid command: EHLO requires domain name"]),
            .send(
                "helo lower.example\r\n",
                ["250 vm Hello lower.example [127.0.0.1], pleased to meet you"]),
            .send("HELO again.example\r\n", ["503 5.5.1 Invalid command: Already identified"]),
            .send("EHLO again.example\r\n", ["503 5.5.1 Invalid command: Already identified"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let miscCommands = Transcript(
        name: "misc-commands",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("FOO bar\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("VRFY root\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("EXPN root\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("NOOP\r\n", ["250 2.0.0 Ok"]),
            .send(
                "NOOP hello\r\n",
                ["500 5.5.4 Invalid command arguments: command does not accept arguments."]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "RSET now\r\n",
                ["500 5.5.4 Invalid command arguments: command does not accept arguments."]),
            .send(
                "HELP\r\n",
                [
                    "214-2.0.0 This is MailLab",
                    "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP HELP QUIT",
                    "214-2.0.0 To report problems, contact the postmaster of this server",
                    "214 2.0.0 End of HELP info",
                ]),
            .send(
                "HELP MAIL\r\n",
                ["500 5.5.4 Invalid command arguments: command does not accept arguments."]),
            .send("WIZ\r\n", ["500 5.5.1 Invalid command: this feature is not supported yet ;-)"]),
            .send("TURN\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("ETRN x\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("BDAT 10 LAST\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("STARTTLS\r\n", ["503 5.5.1 Invalid command: Command not supported"]),
            .send("AUTH PLAIN\r\n", ["503 5.5.1 Invalid command: Command not supported"]),
            .send("\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send(" \r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send(
                "QUIT now\r\n",
                ["500 5.5.4 Invalid command arguments: command does not accept arguments."]),
            .send("quit\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let sequenceErrors = Transcript(
        name: "sequence-errors",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send("DATA\r\n", ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send("MAIL FROM:<a@b.example>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "MAIL FROM:<a@b.example>\r\n",
                ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send("DATA\r\n", ["503 5.5.4 Invalid command arguments: No recipient specified"]),
            .send(
                "DATA now\r\n",
                ["500 5.5.4 Invalid command arguments: command does not accept arguments."]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["503 5.5.1 Invalid command: Command not allowed at this point."]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let rcptRejects = Transcript(
        name: "rcpt-rejects",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO: <nobody-such-user@localhost>\r\n",
                ["550 Invalid recipient: <nobody-such-user@localhost>"]),
            .send("RCPT TO: <x@example.com>\r\n", ["550 Invalid recipient: <x@example.com>"]),
            .send(
                "RCPT TO: <root@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser>\r\n", ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@vm>\r\n", ["250 2.1.5 Destination address valid: Recipient ok"]
            ),
            .send(
                "RCPT TO:<osdrefuser@[127.0.0.1]>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@LOCALHOST>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<OSDREFUSER@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser+tag@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<postmaster@localhost>\r\n",
                ["550 Invalid recipient: <postmaster@localhost>"]),
            .send(
                "RCPT TO:<@relay.example:osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let mailFromSyntax = Transcript(
        name: "mail-from-syntax",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM: <abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:   <abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("mail from:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:abgelaescht@ausgebuefft\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM: abgelaescht@ausgebuefft\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM :<abgelaescht@ausgebuefft>\r\n",
                ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("MAIL FROM:\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<abgelaescht>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<@ausgebuefft>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<abgelaescht@>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:<abgelaescht@ausgebuefft\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM:<abgelaescht@ausgebuefft> trailing\r\n",
                ["503 5.5.4 Invalid command arguments: Unsupported option trailing"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft> SIZE=100\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            // Departure: SIZE= above maxMessageSize is refused at MAIL (OpenSMTPD: 250).
            .send(
                "MAIL FROM:<abgelaescht@ausgebuefft> SIZE=999999999999\r\n",
                [
                    "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
                ]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft> BODY=8BITMIME\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft> BODY=7BIT\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft> RET=HDRS ENVID=abc\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft> AUTH=<>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:<abgelaescht@ausgebuefft> SMTPUTF8\r\n",
                ["503 5.5.4 Invalid command arguments: Unsupported option SMTPUTF8"]),
            .send("MAIL FROM:<a.b.c@d.e.f>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<.ab@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<ab.@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a..b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<\"a b\"@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a(b)@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a,b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a;b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a:b@x.example>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<x:y:a@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a\\b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a[b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<!#$%&'*/?^`{|}~+-=_@x.example>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<a@b@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@x_y.example>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<a@-x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@x-.example>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<a@x..example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@x.example.>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@.x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@x y.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@[127.0.0.1]>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<a@[IPv6:::1]>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<a@[300.0.0.1]>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@[127.0.0.1]x>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<a@123>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<a@xn--mller-kva.example>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:<m\u{FC}ller@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM:<a@m\u{FC}ller.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM:<;sleep 66;@x.example>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send("MAIL FROM:<;sleep 66;>\r\n", ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example>\r\n",
                ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("MAIL FROM:<" + repeated("a", 255) + "@x.example>\r\n", ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:<" + repeated("a", 256) + "@x.example>\r\n",
                ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM:<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example>\r\n",
                ["250 2.0.0 Ok"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example>\r\n",
                ["553 5.1.0 Sender address syntax error"]),
            .send(
                "MAIL FROM:<a@" + longDomain312 + ">\r\n", ["553 5.1.0 Sender address syntax error"]
            ),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let rcptSyntax = Transcript(
        name: "rcpt-syntax",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("RCPT TO:osdrefuser@localhost\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send(
                "RCPT TO: osdrefuser@localhost\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send("RCPT TO:<>\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send("RCPT TO:<@localhost>\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send(
                "RCPT TO:<osdrefuser@localhost> NOTIFY=SUCCESS,FAILURE\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost> NOTIFY=NEVER,SUCCESS\r\n",
                ["553 NOTIFY option NEVER cannot be combined with other options"]),
            .send(
                "RCPT TO:<osdrefuser@localhost> ORCPT=rfc822;osdrefuser@localhost\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost> ORCPT=bogus\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("RCPT TO:<osdrefuser@localhost> FOO=bar\r\n", ["503 Unsupported option FOO=bar"]),
            .send(
                "RCPT TO:<;sleep 66;@localhost>\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send("RCPT TO:<a..b@localhost>\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send(
                "RCPT TO:<\"quoted\"@localhost>\r\n", ["501 5.1.3 Recipient address syntax error"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let noHeaderAtAll = Transcript(
        name: "no-header-at-all",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("first body line\r\nsecond body line\r\n", []),
            .send(
                ".\r\n",
                [
                    "550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant"
                ]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let blankLineFirstNoHeader = Transcript(
        name: "blank-line-first-no-header",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("\r\nNoHeaderBlankFirst body line\r\n", []),
            .send(".\r\n", ["250 2.0.0 c5fba557 Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let headerButNoBlankLine = Transcript(
        name: "header-but-no-blank-line",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: test\r\nbody without separating blank line\r\n", []),
            .send(
                ".\r\n",
                [
                    "550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant"
                ]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let emptyMessage = Transcript(
        name: "empty-message",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(".\r\n", ["250 2.0.0 14cc5e62 Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let colonLineFirst = Transcript(
        name: "colon-line-first",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Hallo: Welt ColonFirst\r\nzweite Zeile\r\n", []),
            .send(
                ".\r\n",
                [
                    "550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant"
                ]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let headerOnlyNoBody = Transcript(
        name: "header-only-no-body",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: HeaderOnly\r\n", []),
            .send(".\r\n", ["250 2.0.0 89834c7f Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let headersRewrite = Transcript(
        name: "headers-rewrite",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(
                "From: abgelaescht\r\nTo: osdrefuser, \"Some One\" <other>\r\nCc: x@y.example\r\nBcc: secret@example.com\r\nSubject: HeadersRewrite\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <given@example>\r\n X-Folded-Start: bad\r\n\r\n..dot-stuffed line\r\n",
                []),
            .send(".\r\n", ["250 2.0.0 b78b5579 Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let longLines = Transcript(
        name: "long-lines",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send(
                repeated("X", 2000) + "\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send("NOOP\r\n", ["250 2.0.0 Ok"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(
                "Subject: LongBodyLine\r\n\r\n" + repeated("B", 2000) + "\r\n"
                    + repeated("C", 10000) + "\r\n", []),
            .send(".\r\n", ["250 2.0.0 423ab280 Message accepted for delivery"]),
            .send(
                repeated("X", 2047) + "\r\n", ["500 5.5.1 Invalid command: Command unrecognized"]),
            .send(repeated("X", 2048) + "\r\n", ["500 5.0.0 Command line too long"], closes: true),
        ])

    static let lineTooLong65535 = Transcript(
        name: "line-too-long-65535",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send(repeated("X", 70000) + "\r\n", ["500 5.0.0 Line too long"], closes: true),
        ])

    static let dataLineTooLong = Transcript(
        name: "data-line-too-long",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(
                "Subject: x\r\n\r\n" + repeated("D", 70000) + "\r\n", ["500 5.0.0 Line too long"],
                closes: true),
        ])

    static let bareLf = Transcript(
        name: "bare-lf",
        steps: [
            .send("HELO defaultNS\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: BareLF\n\nline one\nline two\n", []),
            .send(".\n", ["250 2.0.0 ca848e27 Message accepted for delivery"]),
            .send("QUIT\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let bareCrInside = Transcript(
        name: "bare-cr-inside",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: BareCR\r\n\r\nbefore\rafter\r\n", []),
            .send(".\r\n", ["250 2.0.0 bcbf63ad Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let smuggleLfDotCrlfSplit = Transcript(
        name: "smuggle-lf-dot-crlf-split",
        // Departure (strict line endings): "\n.\r\n" is data, the smuggled transaction too;
        // OpenSMTPD accepted two messages.
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: SmuggleSplit\r\n\r\nlegit body\n.\r\n", []),
            .send("MAIL FROM:<smuggled@ausgebuefft>\r\n", []),
            .send("RCPT TO:<osdrefuser@localhost>\r\n", []),
            .send("DATA\r\n", []),
            .send("Subject: Smuggled\r\n\r\nsmuggled body\r\n", []),
            .send(".\r\n", ["250 2.0.0 a1d2d26c Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let smuggleLfDotLf = Transcript(
        name: "smuggle-lf-dot-lf",
        // Departure (strict line endings): "\n.\n" and the QUIT after it are data; the
        // message ends at the next CRLF.CRLF. OpenSMTPD ended DATA at "\n.\n".
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: SmuggleLfDotLf\r\n\r\nlegit body\n.\n", []),
            .send("QUIT\r\n", []),
            .send(".\r\n", ["250 2.0.0 e0c91fdf Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let smuggleCrDotCr = Transcript(
        name: "smuggle-cr-dot-cr",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: SmuggleCrDotCr\r\n\r\nlegit body\r.\r", []),
            .send(".\r\n", []),
            .send("QUIT\r\n", []),
        ])

    static let smuggleSingleWrite = Transcript(
        name: "smuggle-single-write",
        // Departure (pipelining): the MAIL after the dot is answered in order, as the start of a
        // new transaction. OpenSMTPD: 500 Pipelining not supported, message dropped, close.
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(
                "Subject: SmuggleOneWrite\r\n\r\nlegit\r\n.\r\nMAIL FROM:<smuggled@ausgebuefft>\r\n",
                ["250 2.0.0 df3a6e02 Message accepted for delivery", "250 2.0.0 Ok"]),
        ])

    static let pipelining = Transcript(
        name: "pipelining",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            // Departure (pipelining): both answered. OpenSMTPD: 500 Pipelining not supported, close.
            .send("NOOP\r\nNOOP\r\n", ["250 2.0.0 Ok", "250 2.0.0 Ok"]),
        ])

    static let loopDetect = Transcript(
        name: "loop-detect",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(receivedHeaders(100) + "Subject: Loop\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["500 5.4.6 Routing loop detected: Loop detected"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let twoMessagesOneSession = Transcript(
        name: "two-messages-one-session",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: First\r\n\r\nbody1\r\n", []),
            .send(".\r\n", ["250 2.0.0 3d436889 Message accepted for delivery"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: Second\r\n\r\nbody2\r\n", []),
            .send(".\r\n", ["250 2.0.0 a2e02c24 Message accepted for delivery"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let multiRcptReceived = Transcript(
        name: "multi-rcpt-received",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@[127.0.0.1]>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: TwoRcpt\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["250 2.0.0 e243fae1 Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let ehloEsmtpReceived = Transcript(
        name: "ehlo-esmtp-received",
        steps: [
            .send(
                "EHLO defaultNS\r\n",
                [
                    "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-SIZE 36700160", "250-DSN", "250 HELP",
                ]),
            .send("MAIL FROM:<>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: EhloNullSender\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["250 2.0.0 82f2dd5b Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let clientDisconnectMidData = Transcript(
        name: "client-disconnect-mid-data",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: Aborted\r\n\r\npartial\r\n", []),
            .disconnect,
        ])

    static let hops99ReceivedHeaders = Transcript(
        name: "99-received-headers",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send(receivedHeaders(99) + "Subject: Hops99\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["250 2.0.0 d31f3570 Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let validRcptThenRejectedRcpt = Transcript(
        name: "valid-rcpt-then-rejected-rcpt",
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("RCPT TO:<x@example.com>\r\n", ["550 Invalid recipient: <x@example.com>"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: ForClause\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["250 2.0.0 93d83e1d Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let ehloSizeAndTooBig = Transcript(
        name: "ehlo-size-and-too-big", limits: .smallInstance,
        steps: [
            .send(
                "EHLO defaultNS\r\n",
                [
                    "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-SIZE 1000", "250-DSN", "250 HELP",
                ]),
            // Departure: OpenSMTPD took SIZE=5000 here; we refuse it at MAIL (see sizeAboveLimit),
            // so the transcript declares a size within the limit to reach the DATA check.
            .send("MAIL FROM:<abgelaescht@ausgebuefft> SIZE=500\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: big\r\n\r\n" + lines(11, of: repeated("x", 99)) + "\r\n", []),
            .send(
                ".\r\n",
                ["554 5.3.4 Message too big for system: Transaction failed, message too big"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let justUnderLimit = Transcript(
        name: "just-under-limit", limits: .smallInstance,
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: fits\r\n\r\n" + lines(9, of: repeated("y", 99)) + "\r\n", []),
            .send(".\r\n", ["250 2.0.0 97be056f Message accepted for delivery"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let tooManyRcpts = Transcript(
        name: "too-many-rcpts", limits: .smallInstance,
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@[127.0.0.1]>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send(
                "RCPT TO:<osdrefuser@vm>\r\n",
                ["451 4.5.3 Too many recipients: Too many recipients"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let tooManyMails = Transcript(
        name: "too-many-mails", limits: .smallInstance,
        steps: [
            .send(
                "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: m0\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["250 2.0.0 31e5306d Message accepted for delivery"]),
            .send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            .send(
                "RCPT TO:<osdrefuser@localhost>\r\n",
                ["250 2.1.5 Destination address valid: Recipient ok"]),
            .send("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            .send("Subject: m1\r\n\r\nbody\r\n", []),
            .send(".\r\n", ["250 2.0.0 0f19df62 Message accepted for delivery"]),
            .send(
                "MAIL FROM:<abgelaescht@ausgebuefft>\r\n",
                ["452 4.5.3 Too many recipients: Too many messages sent"]),
            .send("RSET\r\n", ["250 2.0.0 Reset state"]),
            .send(
                "MAIL FROM:<abgelaescht@ausgebuefft>\r\n",
                ["452 4.5.3 Too many recipients: Too many messages sent"]),
            .send("QUIT\r\n", ["221 2.0.0 Bye"], closes: true),
        ])

    static let all: [Transcript] = [
        requiredDialogue, ehlo, beforeHelo, miscCommands, sequenceErrors, rcptRejects,
        mailFromSyntax, rcptSyntax, noHeaderAtAll, blankLineFirstNoHeader, headerButNoBlankLine,
        emptyMessage, colonLineFirst, headerOnlyNoBody, headersRewrite, longLines, lineTooLong65535,
        dataLineTooLong, bareLf, bareCrInside, smuggleLfDotCrlfSplit, smuggleLfDotLf,
        smuggleCrDotCr, smuggleSingleWrite, pipelining, loopDetect, twoMessagesOneSession,
        multiRcptReceived, ehloEsmtpReceived, clientDisconnectMidData, hops99ReceivedHeaders,
        validRcptThenRejectedRcpt, ehloSizeAndTooBig, justUnderLimit, tooManyRcpts, tooManyMails,
    ]
}

// MARK: - Expanding the recording's annotations

func repeated(_ text: String, _ count: Int) -> String {
    String(repeating: text, count: count)
}

/// `<N lines of 'x'*99>`: N lines joined by CRLF, without a final CRLF.
func lines(_ count: Int, of line: String) -> String {
    Array(repeating: line, count: count).joined(separator: "\r\n")
}

/// `Received: from hop0 by x\r\n` … for hop0..hop(N-1).
func receivedHeaders(_ count: Int) -> String {
    (0..<count).map { "Received: from hop\($0) by x\r\n" }.joined()
}

/// A 312-character domain of valid labels (the recording's "326 chars total" MAIL line).
let longDomain312 = [
    repeated("b", 63), repeated("b", 63), repeated("b", 63), repeated("b", 63), repeated("b", 56),
]
.joined(separator: ".")
