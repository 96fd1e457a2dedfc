import Foundation
import SMTPServer
import Testing

/// One row of reference §7.4 as data: what the client writes, write by write, and the reply
/// lines each write must bring (verbatim, CRLF added; `<id>` stands for any 8-hex message id;
/// no lines: nothing may arrive), then whether the server closes.
struct ReferenceCheck: CustomTestStringConvertible, Sendable {
    enum After: Sendable {
        /// Still open: `NOOP` gets `250 2.0.0 Ok`.
        case open
        /// Still open and silent (in DATA, where NOOP would be data).
        case silent
        case closed
    }
    enum Server: Sendable {
        case standard
        /// `idleTimeoutSeconds = 1`.
        case idleOneSecond
        /// Reference A.3: `smtp max-message-size 1000`, `smtp limit max-rcpt 2 max-mails 2`.
        case limits
    }

    var name: String
    /// Send `HELO defaultNS` and expect its 250 before the steps.
    var helo = true
    var steps: [(send: String, expect: [String])]
    var after: After
    var server = Server.standard
    /// Messages that must have been delivered, each checked to contain these texts.
    var stored: [[String]] = []

    var testDescription: String { name }
}

/// The transaction prologue used by many rows.
private let transaction: [(send: String, expect: [String])] = [
    ("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
    ("RCPT TO:<osdrefuser@localhost>\r\n", ["250 2.1.5 Destination address valid: Recipient ok"]),
    ("DATA\r\n", ["354 Enter mail, end with \".\" on a line by itself"]),
]
private let accepted = "250 2.0.0 <id> Message accepted for delivery"
private let noArguments = "500 5.5.4 Invalid command arguments: command does not accept arguments."
private let notNow = "503 5.5.1 Invalid command: Command not allowed at this point."
private let unrecognized = "500 5.5.1 Invalid command: Command unrecognized"
private let recipientOK = "250 2.1.5 Destination address valid: Recipient ok"

private func receivedHeaders(_ count: Int) -> String {
    (0..<count).map { "Received: from hop\($0) by x\r\n" }.joined()
}

let referenceChecks: [ReferenceCheck] = [
    ReferenceCheck(
        name: "1 EHLO (departures: PIPELINING, CHUNKING, BINARYMIME and SMTPUTF8 advertised)",
        helo: false,
        steps: [
            (
                "EHLO defaultNS\r\n",
                [
                    "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-SIZE 36700160", "250-DSN", "250-PIPELINING",
                    "250-CHUNKING", "250-BINARYMIME", "250-SMTPUTF8", "250 HELP",
                ]
            )
        ], after: .open),
    ReferenceCheck(
        name: "2 message without header",
        steps: transaction + [
            ("first body line\r\nsecond body line\r\n", []),
            (
                ".\r\n",
                [
                    "550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant"
                ]
            ),
            // Back in HELO state: a new transaction may start.
            ("MAIL FROM:<a@b.example>\r\n", ["250 2.0.0 Ok"]),
        ], after: .open),
    ReferenceCheck(
        name: "3 unknown command", steps: [("FOO bar\r\n", [unrecognized])], after: .open),
    ReferenceCheck(
        name: "4 RCPT before MAIL", steps: [("RCPT TO:<osdrefuser@localhost>\r\n", [notNow])],
        after: .open),
    ReferenceCheck(
        name: "5 2000 x X", steps: [(String(repeating: "X", count: 2000) + "\r\n", [unrecognized])],
        after: .open),
    ReferenceCheck(
        name: "5b 2047 x X",
        steps: [(String(repeating: "X", count: 2047) + "\r\n", [unrecognized])],
        after: .open),
    ReferenceCheck(
        name: "5b 2048 x X",
        steps: [
            (String(repeating: "X", count: 2048) + "\r\n", ["500 5.0.0 Command line too long"])
        ],
        after: .closed),
    ReferenceCheck(
        name: "5c 70000 x X as a command",
        steps: [(String(repeating: "X", count: 70000) + "\r\n", ["500 5.0.0 Line too long"])],
        after: .closed),
    ReferenceCheck(
        name: "5c 70000 x X as a DATA line",
        steps: transaction + [
            (
                "Subject: long\r\n\r\n" + String(repeating: "X", count: 70000) + "\r\n",
                ["500 5.0.0 Line too long"]
            )
        ], after: .closed),
    ReferenceCheck(
        name: "5d DATA lines of 2000 and 10000 chars",
        steps: transaction + [
            (
                "Subject: long lines\r\n\r\n" + String(repeating: "a", count: 2000) + "\r\n"
                    + String(repeating: "b", count: 10000) + "\r\n", []
            ),
            (".\r\n", [accepted]),
        ], after: .open,
        stored: [
            [
                "\n" + String(repeating: "a", count: 2000) + "\n"
                    + String(repeating: "b", count: 10000)
                    + "\n"
            ]
        ]),
    ReferenceCheck(
        name: "6 bare-LF dialogue (lenient mode)", helo: false,
        steps: [
            ("HELO defaultNS\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            ("MAIL FROM:<abgelaescht@ausgebuefft>\n", ["250 2.0.0 Ok"]),
            ("RCPT TO:<osdrefuser@localhost>\n", [recipientOK]),
            ("DATA\n", ["354 Enter mail, end with \".\" on a line by itself"]),
            ("Subject: BareLF\n\nline one\nline two\n", []),
            (".\n", [accepted]),
            ("QUIT\n", ["221 2.0.0 Bye"]),
        ], after: .closed, stored: [["Subject: BareLF\n", "\n\nline one\nline two\n"]]),
    ReferenceCheck(
        name: "7 unknown local user",
        steps: [
            ("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            (
                "RCPT TO: <nobody-such-user@localhost>\r\n",
                ["550 Invalid recipient: <nobody-such-user@localhost>"]
            ),
        ], after: .open),
    ReferenceCheck(
        name: "8 relay attempt",
        steps: [
            ("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            ("RCPT TO: <x@example.com>\r\n", ["550 Invalid recipient: <x@example.com>"]),
        ], after: .open),
    ReferenceCheck(
        name: "9 VRFY and EXPN",
        steps: [("VRFY root\r\n", [unrecognized]), ("EXPN root\r\n", [unrecognized])], after: .open),
    ReferenceCheck(
        name: "10 NOOP",
        steps: [("NOOP\r\n", ["250 2.0.0 Ok"]), ("NOOP hello\r\n", [noArguments])], after: .open),
    ReferenceCheck(
        name: "11 RSET",
        steps: [("RSET\r\n", ["250 2.0.0 Reset state"]), ("RSET now\r\n", [noArguments])],
        after: .open),
    ReferenceCheck(
        name: "11 RSET before HELO", helo: false, steps: [("RSET\r\n", [notNow])], after: .open),
    ReferenceCheck(
        name: "12 HELP (MailLab's own text in OpenSMTPD's 4-line form)",
        steps: [
            (
                "HELP\r\n",
                [
                    "214-2.0.0 This is MailLab",
                    "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP HELP QUIT",
                    "214-2.0.0 To report problems, contact the postmaster of this server",
                    "214 2.0.0 End of HELP info",
                ]
            ),
            ("HELP MAIL\r\n", [noArguments]),
        ], after: .open),
    ReferenceCheck(
        name: "13 root is a valid recipient",
        steps: [
            ("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            ("RCPT TO: <root@localhost>\r\n", [recipientOK]),
        ], after: .open),
    ReferenceCheck(
        name: "14 HELO arguments and repeats", helo: false,
        steps: [
            ("HELO\r\n", ["501 5.5.1 Invalid command: HELO requires domain name"]),
            ("HELO bad name\r\n", ["501 5.5.4 Invalid command arguments: Invalid domain name"]),
            ("HELO defaultNS\r\n", ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"]),
            ("HELO again.example\r\n", ["503 5.5.1 Invalid command: Already identified"]),
            ("EHLO again.example\r\n", ["503 5.5.1 Invalid command: Already identified"]),
        ], after: .open),
    ReferenceCheck(
        name: "15 MAIL twice",
        steps: [
            ("MAIL FROM:<a@b.example>\r\n", ["250 2.0.0 Ok"]),
            ("MAIL FROM:<a@b.example>\r\n", [notNow]),
        ], after: .open),
    ReferenceCheck(
        name: "16 DATA without RCPT",
        steps: [
            ("MAIL FROM:<a@b.example>\r\n", ["250 2.0.0 Ok"]),
            ("DATA\r\n", ["503 5.5.4 Invalid command arguments: No recipient specified"]),
            ("DATA now\r\n", [noArguments]),
        ], after: .open),
    ReferenceCheck(
        name: "17 STARTTLS and AUTH on a plain listener",
        steps: [
            ("STARTTLS\r\n", ["503 5.5.1 Invalid command: Command not supported"]),
            ("AUTH PLAIN\r\n", ["503 5.5.1 Invalid command: Command not supported"]),
        ], after: .open),
    ReferenceCheck(
        name: "18 WIZ",
        steps: [("WIZ\r\n", ["500 5.5.1 Invalid command: this feature is not supported yet ;-)"])],
        after: .open),
    ReferenceCheck(
        name: "19 QUIT",
        steps: [("QUIT now\r\n", [noArguments]), ("quit\r\n", ["221 2.0.0 Bye"])], after: .closed),
    ReferenceCheck(
        name: "20 departure: pipelined NOOPs answered in order",
        steps: [("NOOP\r\nNOOP\r\n", ["250 2.0.0 Ok", "250 2.0.0 Ok"])], after: .open),
    ReferenceCheck(
        name: "21 departure: MAIL pipelined after the dot runs in order, one message",
        steps: transaction + [
            (
                "Subject: SmuggleOneWrite\r\n\r\nlegit\r\n.\r\nMAIL FROM:<smuggled@ausgebuefft>\r\n",
                [accepted, "250 2.0.0 Ok"]
            ),
            ("RSET\r\n", ["250 2.0.0 Reset state"]),
        ], after: .open, stored: [["Subject: SmuggleOneWrite\n", "\n\nlegit\n"]]),
    ReferenceCheck(
        name: "22 departure: LF.CRLF does not end DATA (strict)",
        steps: transaction + [
            ("Subject: SmuggleLfDotCrlf\r\n\r\nlegit body\n.\r\n", []),
            ("MAIL FROM:<smuggled@ausgebuefft>\r\n", []),
            ("RCPT TO:<osdrefuser@localhost>\r\n", []),
            ("DATA\r\n", []),
            ("Subject: Smuggled\r\n\r\nsmuggled body\r\n", []),
            (".\r\n", [accepted]),
        ], after: .open,
        stored: [
            [
                "Subject: SmuggleLfDotCrlf\n",
                "\n\nlegit body\n.\nMAIL FROM:<smuggled@ausgebuefft>\nRCPT TO:<osdrefuser@localhost>\n"
                    + "DATA\nSubject: Smuggled\n\nsmuggled body\n",
            ]
        ]),
    ReferenceCheck(
        name: "23 departure: LF.LF does not end DATA (strict)",
        steps: transaction + [
            ("Subject: SmuggleLfDotLf\r\n\r\nlegit body\n.\n", []),
            ("more\r\n", []),
            (".\r\n", [accepted]),
        ], after: .open, stored: [["Subject: SmuggleLfDotLf\n", "\n\nlegit body\n.\nmore\n"]]),
    ReferenceCheck(
        name: "24 CR.CR is data",
        steps: transaction + [
            ("Subject: SmuggleCrDotCr\r\n\r\nlegit body\r.\r", []),
            (".\r\n", []),
        ], after: .silent),
    ReferenceCheck(
        name: "25 100 Received headers: loop",
        steps: transaction + [
            (receivedHeaders(100) + "Subject: Loop\r\n\r\nbody\r\n", []),
            (".\r\n", ["500 5.4.6 Routing loop detected: Loop detected"]),
        ], after: .open),
    ReferenceCheck(
        name: "25 99 Received headers pass",
        steps: transaction + [
            (receivedHeaders(99) + "Subject: Hops99\r\n\r\nbody\r\n", []),
            (".\r\n", [accepted]),
        ], after: .open, stored: [["Received: from hop98 by x\nSubject: Hops99"]]),
    ReferenceCheck(
        name: "26 departure: idle timeout answers 421",
        steps: [("", ["421 4.4.2 vm Timeout exceeded, closing connection"])],
        after: .closed, server: .idleOneSecond),
    ReferenceCheck(
        name: "27 recipient forms",
        steps: [("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"])]
            + [
                "<osdrefuser>", "<osdrefuser@vm>", "<osdrefuser@[127.0.0.1]>",
                "<OSDREFUSER@localhost>",
                "<osdrefuser+tag@localhost>", "<@relay.example:osdrefuser@localhost>",
            ].map { ("RCPT TO:\($0)\r\n", [recipientOK]) }, after: .open),
    ReferenceCheck(
        name: "28 postmaster without alias",
        steps: [
            ("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            (
                "RCPT TO:<postmaster@localhost>\r\n",
                ["550 Invalid recipient: <postmaster@localhost>"]
            ),
        ], after: .open),
    ReferenceCheck(
        name: "departure: SIZE= above the limit refused at MAIL",
        steps: [
            (
                "MAIL FROM:<abgelaescht@ausgebuefft> SIZE=36700161\r\n",
                [
                    "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
                ]
            ),
            ("MAIL FROM:<abgelaescht@ausgebuefft> SIZE=36700160\r\n", ["250 2.0.0 Ok"]),
        ], after: .open),
    ReferenceCheck(
        name: "A.3 limits: SIZE advertised, too big after the dot", helo: false,
        steps: [
            (
                "EHLO defaultNS\r\n",
                [
                    "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-SIZE 1000", "250-DSN", "250-PIPELINING",
                    "250-CHUNKING", "250-BINARYMIME", "250-SMTPUTF8", "250 HELP",
                ]
            ),
            (
                "MAIL FROM:<abgelaescht@ausgebuefft> SIZE=5000\r\n",
                [
                    "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
                ]
            ),
        ] + transaction + [
            (
                "Subject: big\r\n\r\n"
                    + String(repeating: String(repeating: "x", count: 99) + "\r\n", count: 11), []
            ),
            (
                ".\r\n",
                ["554 5.3.4 Message too big for system: Transaction failed, message too big"]
            ),
        ], after: .open, server: .limits),
    ReferenceCheck(
        name: "A.3 limits: just under the size limit",
        steps: transaction + [
            (
                "Subject: fits\r\n\r\n"
                    + String(repeating: String(repeating: "y", count: 99) + "\r\n", count: 9), []
            ),
            (".\r\n", [accepted]),
        ], after: .open, server: .limits, stored: [["Subject: fits\n"]]),
    ReferenceCheck(
        name: "A.3 limits: third recipient",
        steps: [
            ("MAIL FROM:<abgelaescht@ausgebuefft>\r\n", ["250 2.0.0 Ok"]),
            ("RCPT TO:<osdrefuser@localhost>\r\n", [recipientOK]),
            ("RCPT TO:<osdrefuser@[127.0.0.1]>\r\n", [recipientOK]),
            ("RCPT TO:<osdrefuser@vm>\r\n", ["451 4.5.3 Too many recipients: Too many recipients"]),
        ], after: .open, server: .limits),
    ReferenceCheck(
        name: "A.3 limits: third message in a session",
        steps: transaction + [("Subject: m0\r\n\r\nbody\r\n.\r\n", [accepted])] + transaction + [
            ("Subject: m1\r\n\r\nbody\r\n.\r\n", [accepted]),
            (
                "MAIL FROM:<abgelaescht@ausgebuefft>\r\n",
                ["452 4.5.3 Too many recipients: Too many messages sent"]
            ),
            ("RSET\r\n", ["250 2.0.0 Reset state"]),
            (
                "MAIL FROM:<abgelaescht@ausgebuefft>\r\n",
                ["452 4.5.3 Too many recipients: Too many messages sent"]
            ),
        ], after: .open, server: .limits, stored: [["Subject: m0\n"], ["Subject: m1\n"]]),
    ReferenceCheck(
        name: "A.1 before HELO", helo: false,
        steps: [
            ("NOOP\r\n", ["250 2.0.0 Ok"]),
            ("MAIL FROM:<a@b.example>\r\n", [notNow]),
            ("RCPT TO:<osdrefuser@localhost>\r\n", [notNow]),
            ("DATA\r\n", [notNow]),
            ("HELO [x]\r\n", ["501 5.5.4 Invalid command arguments: Invalid domain name"]),
            ("EHLO\r\n", ["501 5.5.1 Invalid command: EHLO requires domain name"]),
            (
                "helo lower.example\r\n",
                ["250 vm Hello lower.example [127.0.0.1], pleased to meet you"]
            ),
        ], after: .open),
    ReferenceCheck(
        name: "A.1 misc commands",
        steps: [
            ("TURN\r\n", [unrecognized]), ("ETRN x\r\n", [unrecognized]),
            // Departure: CHUNKING. A BDAT outside a transaction is refused once its 10 bytes
            // are read (OpenSMTPD, and MailLab with `no-chunking`: Command unrecognized).
            ("BDAT 10 LAST\r\nQUIT\r\nQUIT\r", [notNow]), ("\r\n", [unrecognized]),
            (" \r\n", [unrecognized]),
        ], after: .open),
    ReferenceCheck(
        name: "A.1 sequence errors",
        steps: [
            ("DATA\r\n", [notNow]),
            ("MAIL FROM:<a@b.example>\r\n", ["250 2.0.0 Ok"]),
            ("RSET\r\n", ["250 2.0.0 Reset state"]),
            ("RCPT TO:<osdrefuser@localhost>\r\n", [notNow]),
        ], after: .open),
    ReferenceCheck(
        name: "hostile: bare CR inside a command", helo: false,
        steps: [("EHLO x\rQUIT\r\n", ["501 5.5.4 Invalid command arguments: Invalid domain name"])],
        after: .open),
    ReferenceCheck(
        name: "hostile: malformed SIZE",
        steps: [
            (
                "MAIL FROM:<a@b.example> SIZE=abc\r\n",
                ["501 5.5.4 Invalid command arguments: Bad SIZE value"]
            ),
            (
                "MAIL FROM:<a@b.example> SIZE=-1\r\n",
                ["501 5.5.4 Invalid command arguments: Bad SIZE value"]
            ),
        ], after: .open),
]

/// Compares one received line with an expected one (`<id>`: 8 lowercase hex digits).
func lineMatches(_ line: String, _ expected: String) -> Bool {
    guard let range = expected.range(of: "<id>") else { return line == expected + "\r\n" }
    let prefix = expected[..<range.lowerBound]
    let suffix = expected[range.upperBound...] + "\r\n"
    guard line.hasPrefix(prefix), line.hasSuffix(suffix),
        line.count == prefix.count + 8 + suffix.count
    else { return false }
    return line.dropFirst(prefix.count).prefix(8).allSatisfy { "0123456789abcdef".contains($0) }
}

@Suite struct ReferenceChecksTests {
    @Test(arguments: referenceChecks)
    func check(_ row: ReferenceCheck) async throws {
        let config = row.server == .limits ? limitsInstanceConfig : localDeliveryConfig
        try await withServer(
            config: config,
            configure: { options in
                if row.server == .idleOneSecond { options.idleTimeoutSeconds = 1 }
            }
        ) { server in
            let received = try await blocking { [port = server.port] in
                try Self.run(row, port: port)
            }
            for problem in received { Issue.record(Comment(rawValue: problem)) }
            if !row.stored.isEmpty {
                var messages: [DeliveredMessage] = []
                for _ in row.stored {
                    messages.append(try await server.server.nextMessage(timeout: 5))
                }
                for (message, texts) in zip(messages, row.stored) {
                    for text in texts {
                        #expect(message.text.contains(text), "stored message:\n\(message.text)")
                    }
                }
            }
            // Exactly the expected messages, no more (smuggling rows).
            try await Task.sleep(nanoseconds: 100_000_000)
            #expect(server.server.messages.count == row.stored.count)
            #expect(maildirFiles(server.maildir).count == row.stored.count)
        }
    }

    /// Runs one row; returns what went wrong (empty: all as expected).
    static func run(_ row: ReferenceCheck, port: UInt16) throws -> [String] {
        var problems: [String] = []
        let client = try LineClient(port: port)
        func expectLines(_ expected: [String], after sent: String) throws {
            if expected.isEmpty {
                if !client.staysSilent(0.3) {
                    problems.append(
                        "\(row.name): unexpected reply after \(sent.prefix(60).debugDescription)")
                }
                return
            }
            for line in expected {
                guard let got = try client.readLine() else {
                    problems.append("\(row.name): closed, expected \(line.debugDescription)")
                    return
                }
                if !lineMatches(got, line) {
                    problems.append(
                        "\(row.name): got \(got.debugDescription), expected \(line.debugDescription)"
                    )
                }
            }
        }
        try expectLines(["220 vm ESMTP MailLab"], after: "connect")
        if row.helo {
            try client.send("HELO defaultNS\r\n")
            try expectLines(
                ["250 vm Hello defaultNS [127.0.0.1], pleased to meet you"], after: "HELO")
        }
        for step in row.steps {
            if !step.send.isEmpty { try client.send(step.send) }
            try expectLines(step.expect, after: step.send)
        }
        switch row.after {
        case .closed:
            if !client.closesWithin(3) { problems.append("\(row.name): connection not closed") }
        case .silent:
            if !client.staysSilent(1) { problems.append("\(row.name): not silent") }
        case .open:
            try client.send("NOOP\r\n")
            try expectLines(["250 2.0.0 Ok"], after: "NOOP (still open?)")
        }
        return problems
    }

    @Test func lineMatcherRejectsNearMisses() {
        #expect(lineMatches("250 2.0.0 0123abcd Message accepted for delivery\r\n", accepted))
        #expect(!lineMatches("250 2.0.0 0123abcd Message accepted for delivery\n", accepted))
        #expect(!lineMatches("250 2.0.0 0123ABCD Message accepted for delivery\r\n", accepted))
        #expect(!lineMatches("250 2.0.0 0123abc Message accepted for delivery\r\n", accepted))
        #expect(lineMatches("250 2.0.0 Ok\r\n", "250 2.0.0 Ok"))
        #expect(!lineMatches("250 2.0.0 Ok \r\n", "250 2.0.0 Ok"))
    }
}
