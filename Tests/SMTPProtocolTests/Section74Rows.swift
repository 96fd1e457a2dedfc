import MailLabTestSupport

// §7.4 "Required extra checks" of opensmtpd-6.8.md, one transcript per row, as data.
// Each row starts on a fresh connection; "HELO defaultNS" first unless the row is about
// the state before HELO. Departures are marked. Row 26 (idle timeout) is a test of its own.

private let helo = Transcript.Step.send(
    "HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"])
private let mail = Transcript.Step.send("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"])
private let rcpt = Transcript.Step.send(
    "RCPT TO:<osdrefuser@localhost>\r\n", ["250 2.1.5 Destination address valid: Recipient ok"])
private let data = Transcript.Step.send(
    "DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"])
private let accepted = "250 2.0.0 MSGID Message accepted for delivery"
private let unrecognized = "500 5.5.1 Invalid command: Command unrecognized"
private let noArguments =
    "500 5.5.4 Invalid command arguments: command does not accept arguments."
private let notAllowed = "503 5.5.1 Invalid command: Command not allowed at this point."
private let rcptOK = "250 2.1.5 Destination address valid: Recipient ok"

private func row(_ number: String, _ steps: [Transcript.Step]) -> Transcript {
    Transcript(name: "7.4 row \(number)", steps: steps)
}

enum Section74 {
    static let rows: [Transcript] = [
        row(
            "1",
            [
                .send(
                    "EHLO defaultNS\r\n",
                    [
                        "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
                        "250-ENHANCEDSTATUSCODES", "250-SIZE 36700160", "250-DSN", "250 HELP",
                    ])
            ]),
        row(
            "2",
            [
                helo, mail, rcpt, data,
                .send(
                    "first body line\r\nsecond body line\r\n.\r\n",
                    [
                        "550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant"
                    ]),
                // back in HELO state: a new transaction may start
                mail,
            ]),
        row("3", [helo, .send("FOO bar\r\n", [unrecognized])]),
        row("4", [helo, .send("RCPT TO:<osdrefuser@localhost>\r\n", [notAllowed])]),
        row("5", [helo, .send(repeated("X", 2000) + "\r\n", [unrecognized])]),
        row("5b-2047", [helo, .send(repeated("X", 2047) + "\r\n", [unrecognized])]),
        row(
            "5b-2048",
            [
                helo,
                .send(
                    repeated("X", 2048) + "\r\n", ["500 5.0.0 Command line too long"], closes: true),
            ]),
        row(
            "5c-command",
            [
                helo,
                .send(repeated("X", 70000) + "\r\n", ["500 5.0.0 Line too long"], closes: true),
            ]),
        row(
            "5c-data",
            [
                helo, mail, rcpt, data,
                .send(
                    "Subject: x\r\n\r\n" + repeated("D", 70000) + "\r\n",
                    ["500 5.0.0 Line too long"], closes: true),
            ]),
        row(
            "5d",
            [
                helo, mail, rcpt, data,
                .send(
                    "Subject: LongBodyLine\r\n\r\n" + repeated("B", 2000) + "\r\n"
                        + repeated("C", 10000) + "\r\n.\r\n", [accepted]),
            ]),
        row(
            "6",
            [
                .send(
                    "HELO defaultNS\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
                .send("MAIL FROM:<abgelaescht@ausgebuefft>\n", ["250 2.0.0 Ok"]),
                .send("RCPT TO:<osdrefuser@localhost>\n", [rcptOK]),
                .send("DATA\n", ["354 Enter mail, end with \".\" on a line by itself"]),
                .send("Subject: BareLF\n\nline one\nline two\n", []),
                .send(".\n", [accepted]),
                .send("QUIT\n", ["221 2.0.0 Bye"], closes: true),
            ]),
        row(
            "7",
            [
                helo, mail,
                .send(
                    "RCPT TO: <nobody-such-user@localhost>\r\n",
                    ["550 Invalid recipient: <nobody-such-user@localhost>"]),
            ]),
        row(
            "8",
            [
                helo, mail,
                .send("RCPT TO: <x@example.com>\r\n", ["550 Invalid recipient: <x@example.com>"]),
            ]),
        row(
            "9",
            [helo, .send("VRFY root\r\n", [unrecognized]), .send("EXPN root\r\n", [unrecognized])]),
        row(
            "10",
            [helo, .send("NOOP\r\n", ["250 2.0.0 Ok"]), .send("NOOP hello\r\n", [noArguments])]),
        row(
            "11",
            [
                .send("RSET\r\n", [notAllowed]), helo,
                .send("RSET\r\n", ["250 2.0.0 Reset state"]), .send("RSET now\r\n", [noArguments]),
            ]),
        row(
            "12",
            [
                helo,
                .send(
                    "HELP\r\n",
                    [
                        "214-2.0.0 This is MailLab",
                        "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP HELP QUIT",
                        "214-2.0.0 To report problems, contact the postmaster of this server",
                        "214 2.0.0 End of HELP info",
                    ]),
                .send("HELP MAIL\r\n", [noArguments]),
            ]),
        row("13", [helo, mail, .send("RCPT TO: <root@localhost>\r\n", [rcptOK])]),
        row(
            "14",
            [
                .send("HELO\r\n", ["501 5.5.1 Invalid command: HELO requires domain name"]),
                .send(
                    "HELO bad name\r\n",
                    ["501 5.5.4 Invalid command arguments: Invalid domain name"]),
                helo,
                .send("HELO defaultNS\r\n", ["503 5.5.1 Invalid command: Already identified"]),
                .send("EHLO defaultNS\r\n", ["503 5.5.1 Invalid command: Already identified"]),
            ]),
        row(
            "15",
            [
                helo, .send("MAIL FROM:<a@b.example>\r\n", ["250 2.0.0 Ok"]),
                .send("MAIL FROM:<a@b.example>\r\n", [notAllowed]),
            ]),
        row(
            "16",
            [
                helo, mail,
                .send("DATA\r\n", ["503 5.5.4 Invalid command arguments: No recipient specified"]),
                .send("DATA now\r\n", [noArguments]),
            ]),
        row(
            "17",
            [
                helo, .send("STARTTLS\r\n", ["503 5.5.1 Invalid command: Command not supported"]),
                .send("AUTH PLAIN\r\n", ["503 5.5.1 Invalid command: Command not supported"]),
            ]),
        row(
            "18",
            [
                helo,
                .send(
                    "WIZ\r\n", ["500 5.5.1 Invalid command: this feature is not supported yet ;-)"]),
            ]),
        row(
            "19",
            [
                helo, .send("QUIT now\r\n", [noArguments]),
                .send("quit\r\n", ["221 2.0.0 Bye"], closes: true),
            ]),
        // Departure (pipelining): answered in order, connection stays open.
        row("20", [helo, .send("NOOP\r\nNOOP\r\n", ["250 2.0.0 Ok", "250 2.0.0 Ok"])]),
        // Departure (pipelining): the message is accepted, the MAIL after it answered in order.
        row(
            "21",
            [
                helo, mail, rcpt, data,
                .send(
                    "Subject: S\r\n\r\nlegit\r\n.\r\nMAIL FROM:<smuggled@ausgebuefft>\r\n",
                    [accepted, "250 2.0.0 Ok"]),
            ]),
        // Departure (strict line endings): "\n.\r\n" is data; the smuggled commands too.
        row(
            "22",
            [
                helo, mail, rcpt, data,
                .send("Subject: S\r\n\r\nlegit body\n.\r\n", []),
                .send("MAIL FROM:<smuggled@ausgebuefft>\r\n", []),
                .send(".\r\n", [accepted]),
            ]),
        // Departure (strict line endings): "\n.\n" is data.
        row(
            "23",
            [
                helo, mail, rcpt, data, .send("Subject: S\r\n\r\nlegit body\n.\n", []),
                // the "." line ended in bare LF, so the next dot needs a CRLF line before it
                .send(".\r\n", []), .send(".\r\n", [accepted]),
            ]),
        row(
            "24",
            [
                helo, mail, rcpt, data, .send("Subject: S\r\n\r\nlegit body\r.\r", []),
                .send(".\r\n", []),
            ]),
        row(
            "25-100",
            [
                helo, mail, rcpt, data,
                .send(
                    receivedHeaders(100) + "Subject: Loop\r\n\r\nbody\r\n.\r\n",
                    ["500 5.4.6 Routing loop detected: Loop detected"]),
            ]),
        row(
            "25-99",
            [
                helo, mail, rcpt, data,
                .send(receivedHeaders(99) + "Subject: Hops99\r\n\r\nbody\r\n.\r\n", [accepted]),
            ]),
        row(
            "27",
            [
                helo, mail,
                .send("RCPT TO:<osdrefuser>\r\n", [rcptOK]),
                .send("RCPT TO:<osdrefuser@vm>\r\n", [rcptOK]),
                .send("RCPT TO:<osdrefuser@[127.0.0.1]>\r\n", [rcptOK]),
                .send("RCPT TO:<OSDREFUSER@localhost>\r\n", [rcptOK]),
                .send("RCPT TO:<osdrefuser+tag@localhost>\r\n", [rcptOK]),
                .send("RCPT TO:<@relay.example:osdrefuser@localhost>\r\n", [rcptOK]),
            ]),
        row(
            "28",
            [
                helo, mail,
                .send(
                    "RCPT TO:<postmaster@localhost>\r\n",
                    ["550 Invalid recipient: <postmaster@localhost>"]),
            ]),
    ]
}
