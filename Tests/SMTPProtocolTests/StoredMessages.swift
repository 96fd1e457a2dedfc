import SMTPProtocol

// Stored maildir files of opensmtpd-6.8.md §7.3 and Appendix A.4, as data: the client
// dialogue, the clock at the time (the file name's epoch) and the file's exact bytes.
// Compared with `deliveryHeaders(for:) + content`; "(OpenSMTPD)" reads "(MailLab)", the
// 8-hex message id and a generated 16-hex `Message-ID:` compare as "any id" (see
// `StoredCase.normalized`). `\t` is the real TAB of the continuation lines.

struct StoredCase: Sendable, CustomStringConvertible {
    let name: String
    let epoch: Int64
    var listenerIsLocal = true
    var peer = localPeer
    /// Client bytes after the banner.
    let client: String
    /// Which accepted recipient's file this is.
    var recipientIndex = 0
    let file: String

    var description: String { name }
}

private func dialogue(
    _ body: String, helo: String = "HELO defaultNS", from: String = "<abgelaescht@ausgebuefft>",
    to recipients: [String] = ["<osdrefuser@localhost>"]
) -> String {
    "\(helo)\r\nMAIL FROM:\(from)\r\n"
        + recipients.map { "RCPT TO:\($0)\r\n" }.joined()
        + "DATA\r\n\(body).\r\nQUIT\r\n"
}

enum StoredMessages {
    static let all: [StoredCase] = [
        StoredCase(
            name: "7.3 local listener", epoch: 1_795_924_911,
            client: dialogue("Subject: test\r\n\r\nfirst body line\r\nsecond body line\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id fa33b34e
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:01:51 +0000 (UTC)
                Subject: test
                Date: Sun, 29 Nov 2026 04:01:51 +0000 (UTC)
                Message-ID: <cd2dc1debbd4f121@vm>

                first body line
                second body line

                """),
        StoredCase(
            name: "7.3 non-loopback listener", epoch: 1_795_925_006, listenerIsLocal: false,
            peer: PeerInfo(address: "10.77.0.2", hostName: nil),
            client: dialogue("Subject: test\r\n\r\nfirst body line\r\nsecond body line\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (<unknown> [10.77.0.2])
                \tby vm (OpenSMTPD) with SMTP id e1699e02
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:03:26 +0000 (UTC)
                Subject: test

                first body line
                second body line

                """),
        StoredCase(
            name: "headers-rewrite", epoch: 1_795_924_957,
            client: dialogue(
                "From: abgelaescht\r\nTo: osdrefuser, \"Some One\" <other>\r\nCc: x@y.example\r\n"
                    + "Bcc: secret@example.com\r\nSubject: HeadersRewrite\r\n"
                    + "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <given@example>\r\n"
                    + " X-Folded-Start: bad\r\n\r\n..dot-stuffed line\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id b78b5579
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:02:37 +0000 (UTC)
                From: abgelaescht@vm
                To: osdrefuser@vm, "Some One" <other@vm>
                Cc: x@y.example
                Subject: HeadersRewrite
                Date: Mon, 1 Jan 2024 00:00:00 +0000
                Message-ID: <given@example>
                 X-Folded-Start: bad

                .dot-stuffed line

                """),
        StoredCase(
            name: "blank-line-first-no-header", epoch: 1_795_924_955,
            client: dialogue("\r\nNoHeaderBlankFirst body line\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id c5fba557
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:02:35 +0000 (UTC)
                Date: Sun, 29 Nov 2026 04:02:35 +0000 (UTC)
                Message-ID: <cd2dc1eb333fea8e@vm>

                NoHeaderBlankFirst body line

                """),
        StoredCase(
            name: "header-only-no-body", epoch: 1_795_924_957,
            client: dialogue("Subject: HeaderOnly\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id 89834c7f
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:02:37 +0000 (UTC)
                Subject: HeaderOnly
                Date: Sun, 29 Nov 2026 04:02:37 +0000 (UTC)
                Message-ID: <cd2dc1f75fa2ffb8@vm>

                """),
        StoredCase(
            name: "empty-message", epoch: 1_795_924_956,
            client: dialogue(""),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id 14cc5e62
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:02:36 +0000 (UTC)
                Date: Sun, 29 Nov 2026 04:02:36 +0000 (UTC)
                Message-ID: <cd2dc1f15774e003@vm>

                """),
        StoredCase(
            name: "bare-cr-inside", epoch: 1_795_924_959,
            client: dialogue("Subject: BareCR\r\n\r\nbefore\rafter\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id bcbf63ad
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:02:39 +0000 (UTC)
                Subject: BareCR
                Date: Sun, 29 Nov 2026 04:02:39 +0000 (UTC)
                Message-ID: <cd2dc20919bca27f@vm>

                before\rafter

                """),
        StoredCase(
            name: "multi-rcpt-received, second file", epoch: 1_795_924_987,
            client: dialogue(
                "Subject: TwoRcpt\r\n\r\nbody\r\n",
                to: ["<osdrefuser@localhost>", "<osdrefuser@[127.0.0.1]>"]),
            recipientIndex: 1,
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@[127.0.0.1]
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id e243fae1;
                \tSun, 29 Nov 2026 04:03:07 +0000 (UTC)
                Subject: TwoRcpt
                Date: Sun, 29 Nov 2026 04:03:07 +0000 (UTC)
                Message-ID: <cd2dc2252c7b99d2@vm>

                body

                """),
        StoredCase(
            name: "ehlo-esmtp-received (null sender)", epoch: 1_795_924_988,
            client: dialogue(
                "Subject: EhloNullSender\r\n\r\nbody\r\n", helo: "EHLO defaultNS", from: "<>"),
            file: """
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with ESMTP id 82f2dd5b
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:03:08 +0000 (UTC)
                Subject: EhloNullSender
                Date: Sun, 29 Nov 2026 04:03:08 +0000 (UTC)
                Message-ID: <cd2dc22a14ebab57@vm>

                body

                """),
        // Departure: the "for" clause names the first accepted recipient (OpenSMTPD HEAD);
        // 6.8 printed the last parsed RCPT, here the rejected <x@example.com>.
        StoredCase(
            name: "valid-rcpt-then-rejected-rcpt", epoch: 1_795_925_390,
            client: dialogue(
                "Subject: ForClause\r\n\r\nbody\r\n",
                to: ["<osdrefuser@localhost>", "<x@example.com>"]),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id 93d83e1d
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:09:50 +0000 (UTC)
                Subject: ForClause
                Date: Sun, 29 Nov 2026 04:09:50 +0000 (UTC)
                Message-ID: <6d09ae85052ae657@vm>

                body

                """),
        // Departure (strict line endings): OpenSMTPD stored two messages, the second with the
        // smuggled sender; we store one, the smuggled transaction and the lone dot as data.
        StoredCase(
            name: "smuggle-lf-dot-crlf-split", epoch: 1_795_924_959,
            client: dialogue(
                "Subject: SmuggleSplit\r\n\r\nlegit body\n.\r\nMAIL FROM:<smuggled@ausgebuefft>\r\n"
                    + "RCPT TO:<osdrefuser@localhost>\r\nDATA\r\nSubject: Smuggled\r\n\r\n"
                    + "smuggled body\r\n"),
            file: """
                Return-Path: <abgelaescht@ausgebuefft>
                Delivered-To: osdrefuser@localhost
                Received: from defaultNS (localhost [127.0.0.1])
                \tby vm (OpenSMTPD) with SMTP id a1d2d26c
                \tfor <osdrefuser@localhost>;
                \tSun, 29 Nov 2026 04:02:39 +0000 (UTC)
                Subject: SmuggleSplit
                Date: Sun, 29 Nov 2026 04:02:39 +0000 (UTC)
                Message-ID: <cd2dc21012054da8@vm>

                legit body
                .
                MAIL FROM:<smuggled@ausgebuefft>
                RCPT TO:<osdrefuser@localhost>
                DATA
                Subject: Smuggled

                smuggled body

                """),
    ]
}

extension StoredCase {
    /// Makes run-specific ids comparable: the `id` of the Received header and a generated
    /// 16-hex `Message-ID:`; names the software MailLab.
    static func normalized(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = String(line).replacing("(OpenSMTPD)", with: "(MailLab)")
            for marker in [" with SMTP id ", " with ESMTP id "] {
                if let range = line.firstRange(of: marker) {
                    let id = line[range.upperBound...].prefix(8)
                    if id.count == 8 && id.allSatisfy(\.isHexDigit) {
                        line =
                            String(line[..<range.upperBound]) + "ID"
                            + line[range.upperBound...].dropFirst(8)
                    }
                }
            }
            if line.hasPrefix("Message-ID: <") && line.hasSuffix("@vm>") {
                let id = line.dropFirst(13).dropLast(4)
                if id.count == 16 && id.allSatisfy({ $0.isHexDigit }) {
                    line = "Message-ID: <RANDOM@vm>"
                }
            }
            return line
        }.joined(separator: "\n")
    }
}
