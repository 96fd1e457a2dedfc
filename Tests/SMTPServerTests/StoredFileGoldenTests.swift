import Foundation
import Testing

/// Reference A.4: the stored files of selected scenarios, compared whole after masking the
/// message id, the dates OpenSMTPD generated, the random Message-ID and the software name.
struct StoredFileCase: CustomTestStringConvertible, Sendable {
    var name: String
    var greeting: String
    var sender: String
    var recipients: [String]
    var data: String
    /// The file of this recipient is compared.
    var deliveredTo: String
    /// OpenSMTPD's file (verbatim from the reference).
    var reference: String
    /// A deliberate departure: this line of the reference is replaced by that one.
    var departure: (String, String)?

    var testDescription: String { name }
}

let storedFileCases: [StoredFileCase] = [
    StoredFileCase(
        name: "headers-rewrite", greeting: "HELO", sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>"],
        data:
            "From: abgelaescht\r\nTo: osdrefuser, \"Some One\" <other>\r\nCc: x@y.example\r\nBcc: secret@example.com\r\nSubject: HeadersRewrite\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <given@example>\r\n X-Folded-Start: bad\r\n\r\n..dot-stuffed line\r\n",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id b78b5579\n" + "\tfor <osdrefuser@localhost>;\n"
            + "\tSun, 29 Nov 2026 04:02:37 +0000 (UTC)\n" + "From: abgelaescht@vm\n"
            + "To: osdrefuser@vm, \"Some One\" <other@vm>\n" + "Cc: x@y.example\n"
            + "Subject: HeadersRewrite\n" + "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
            + "Message-ID: <given@example>\n" + " X-Folded-Start: bad\n" + "\n"
            + ".dot-stuffed line\n",
        departure: nil),
    StoredFileCase(
        name: "blank-line-first-no-header", greeting: "HELO", sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>"],
        data: "\r\nNoHeaderBlankFirst body line\r\n",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id c5fba557\n" + "\tfor <osdrefuser@localhost>;\n"
            + "\tSun, 29 Nov 2026 04:02:35 +0000 (UTC)\n"
            + "Date: Sun, 29 Nov 2026 04:02:35 +0000 (UTC)\n"
            + "Message-ID: <cd2dc1eb333fea8e@vm>\n" + "\n" + "NoHeaderBlankFirst body line\n",
        departure: nil),
    StoredFileCase(
        name: "header-only-no-body", greeting: "HELO", sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>"],
        data: "Subject: HeaderOnly\r\n",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id 89834c7f\n" + "\tfor <osdrefuser@localhost>;\n"
            + "\tSun, 29 Nov 2026 04:02:37 +0000 (UTC)\n" + "Subject: HeaderOnly\n"
            + "Date: Sun, 29 Nov 2026 04:02:37 +0000 (UTC)\n"
            + "Message-ID: <cd2dc1f75fa2ffb8@vm>\n",
        departure: nil),
    StoredFileCase(
        name: "empty-message", greeting: "HELO", sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>"],
        data: "",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id 14cc5e62\n" + "\tfor <osdrefuser@localhost>;\n"
            + "\tSun, 29 Nov 2026 04:02:36 +0000 (UTC)\n"
            + "Date: Sun, 29 Nov 2026 04:02:36 +0000 (UTC)\n"
            + "Message-ID: <cd2dc1f15774e003@vm>\n",
        departure: nil),
    StoredFileCase(
        name: "bare-cr-inside", greeting: "HELO", sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>"],
        data: "Subject: BareCR\r\n\r\nbefore\rafter\r\n",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id bcbf63ad\n" + "\tfor <osdrefuser@localhost>;\n"
            + "\tSun, 29 Nov 2026 04:02:39 +0000 (UTC)\n" + "Subject: BareCR\n"
            + "Date: Sun, 29 Nov 2026 04:02:39 +0000 (UTC)\n"
            + "Message-ID: <cd2dc20919bca27f@vm>\n" + "\n" + "before\rafter\n",
        departure: nil),
    StoredFileCase(
        name: "multi-rcpt-received", greeting: "HELO", sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>", "<osdrefuser@[127.0.0.1]>"],
        data: "Subject: TwoRcpt\r\n\r\nbody\r\n",
        deliveredTo: "osdrefuser@[127.0.0.1]",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@[127.0.0.1]\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id e243fae1;\n"
            + "\tSun, 29 Nov 2026 04:03:07 +0000 (UTC)\n" + "Subject: TwoRcpt\n"
            + "Date: Sun, 29 Nov 2026 04:03:07 +0000 (UTC)\n"
            + "Message-ID: <cd2dc2252c7b99d2@vm>\n" + "\n" + "body\n",
        departure: nil),
    StoredFileCase(
        name: "ehlo-esmtp-received", greeting: "EHLO", sender: "<>",
        recipients: ["<osdrefuser@localhost>"],
        data: "Subject: EhloNullSender\r\n\r\nbody\r\n",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with ESMTP id 82f2dd5b\n" + "\tfor <osdrefuser@localhost>;\n"
            + "\tSun, 29 Nov 2026 04:03:08 +0000 (UTC)\n" + "Subject: EhloNullSender\n"
            + "Date: Sun, 29 Nov 2026 04:03:08 +0000 (UTC)\n"
            + "Message-ID: <cd2dc22a14ebab57@vm>\n" + "\n" + "body\n",
        departure: nil),
    StoredFileCase(
        name: "valid-rcpt-then-rejected-rcpt", greeting: "HELO",
        sender: "<abgelaescht@ausgebuefft>",
        recipients: ["<osdrefuser@localhost>", "<x@example.com>"],
        data: "Subject: ForClause\r\n\r\nbody\r\n",
        deliveredTo: "osdrefuser@localhost",
        reference:
            "Return-Path: <abgelaescht@ausgebuefft>\n" + "Delivered-To: osdrefuser@localhost\n"
            + "Received: from defaultNS (localhost [127.0.0.1])\n"
            + "\tby vm (OpenSMTPD) with SMTP id 93d83e1d\n" + "\tfor <x@example.com>;\n"
            + "\tSun, 29 Nov 2026 04:09:50 +0000 (UTC)\n" + "Subject: ForClause\n"
            + "Date: Sun, 29 Nov 2026 04:09:50 +0000 (UTC)\n"
            + "Message-ID: <6d09ae85052ae657@vm>\n" + "\n" + "body\n",
        // 6.8 named the last RCPT parsed in `for`; MailLab (like OpenSMTPD HEAD) the first accepted.
        departure: ("\tfor <x@example.com>;", "\tfor <osdrefuser@localhost>;")),
]

/// Masks what differs per run and per implementation.
func maskedStoredFile(_ text: String) -> String {
    var text = text
    text.replace(#/ with (E?SMTP) id [0-9a-f]{8}/#) { " with \($0.1) id ID" }
    text.replace(
        #/[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4} \([A-Za-z]+\)/#,
        with: "DATE")
    text.replace(#/Message-ID: <[0-9a-f]{16}@vm>/#, with: "Message-ID: <RANDOM@vm>")
    return text.replacingOccurrences(of: " (OpenSMTPD) ", with: " (MailLab) ")
}

@Suite struct StoredFileGoldenTests {
    @Test(.testServer(), arguments: storedFileCases)
    func storedFileMatchesOpenSMTPD(_ scenario: StoredFileCase) async throws {
        let server = try TraitServer.current()
        let replies = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            var replies = [try client.readReply().joined()]
            replies.append(try client.command("\(scenario.greeting) defaultNS"))
            replies.append(try client.command("MAIL FROM:\(scenario.sender)"))
            for recipient in scenario.recipients {
                replies.append(try client.command("RCPT TO:\(recipient)"))
            }
            replies.append(try client.command("DATA"))
            if !scenario.data.isEmpty { try client.send(scenario.data) }
            replies.append(try client.command("."))
            return replies
        }
        #expect(
            lineMatches(
                (replies.last ?? "") + "\r\n", "250 2.0.0 <id> Message accepted for delivery"),
            "\(replies)")
        let message = try await server.server.nextMessage(timeout: 5)
        let files = maildirFiles(server.maildir).map(readText)
        let stored = try #require(
            files.first {
                $0.contains("\nDelivered-To: \(scenario.deliveredTo)\n")
                    || $0.hasPrefix("Delivered-To: \(scenario.deliveredTo)\n")
            })
        var expected = maskedStoredFile(scenario.reference)
        if let (theirs, ours) = scenario.departure {
            #expect(expected.contains(theirs + "\n"))
            expected = expected.replacingOccurrences(of: theirs + "\n", with: ours + "\n")
        }
        #expect(maskedStoredFile(stored) == expected)
        #expect(files.count == message.recipients.count)
    }

    @Test func maskingKeepsWhatMatters() {
        let ours =
            "Received: from a\n\tby vm (MailLab) with SMTP id 0123abcd;\n\tSun, 29 Nov 2026 04:02:37 +0000 (UTC)\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        #expect(
            maskedStoredFile(ours)
                == "Received: from a\n\tby vm (MailLab) with SMTP id ID;\n\tDATE\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        )
        #expect(
            maskedStoredFile(ours)
                != maskedStoredFile(ours.replacingOccurrences(of: "with SMTP", with: "with ESMTP")))
    }
}
