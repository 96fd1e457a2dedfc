import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// Reference §7.2/§7.3: the required dialogue, byte for byte except the server name, the
/// software name after `ESMTP`, the message id and the peer address; and the stored file.
@Suite struct GoldenDialogueTests {
    /// OpenSMTPD's replies of §7.2, verbatim.
    static let goldenReplies = [
        "220 vm ESMTP OpenSMTPD\r\n",
        "250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n",
        "553 5.1.0 Sender address syntax error\r\n",
        "250 2.0.0 Ok\r\n",
        "250 2.1.5 Destination address valid: Recipient ok\r\n",
        "354 Enter mail, end with \".\" on a line by itself\r\n",
        "250 2.0.0 c54610f7 Message accepted for delivery\r\n",
        "221 2.0.0 Bye\r\n",
    ]

    /// Runs the §7.2 client side; returns the replies, each as received (with CRLF).
    static func runDialogue(port: UInt16, recipient: String, host: String = "127.0.0.1") throws
        -> [String]
    {
        let client = try LineClient(host: host, port: port)
        var replies = try client.readReply()
        for command in [
            "HELO defaultNS", "MAIL FROM: abgelaescht@ausgebuefft",
            "MAIL FROM: <abgelaescht@ausgebuefft>", "RCPT TO: <\(recipient)>", "DATA",
        ] {
            try client.send(command + "\r\n")
            replies += try client.readReply()
        }
        try client.send("Subject: test\r\n\r\nfirst body line\r\nsecond body line\r\n")
        try client.send(".\r\n")
        replies += try client.readReply()
        try client.send("QUIT\r\n")
        replies += try client.readReply()
        #expect(client.closesWithin(3), "the server closes after 221")
        return replies
    }

    /// Replaces what may differ (server name, software name, message id, peer address) with
    /// the reference's values, so the rest can be compared byte for byte.
    static func normalized(_ replies: [String], peer: String = "127.0.0.1") -> [String] {
        guard let banner = replies.first,
            let match = banner.wholeMatch(of: /220 (\S+) ESMTP (\S+)\r\n/)
        else { return replies }
        let name = String(match.1)
        return replies.enumerated().map { index, line in
            if index == 0 { return "220 vm ESMTP OpenSMTPD\r\n" }
            var line = line
            line = line.replacingOccurrences(of: "250 \(name) Hello", with: "250 vm Hello")
            line = line.replacingOccurrences(of: "[\(peer)]", with: "[127.0.0.1]")
            if let match = line.wholeMatch(
                of: /250 2\.0\.0 ([0-9a-f]{8}) Message accepted for delivery\r\n/)
            {
                line = line.replacingOccurrences(of: String(match.1), with: "c54610f7")
            }
            return line
        }
    }

    /// The §7.3 file, line by line, as patterns: `NAME` is the server name, `ID` the message id.
    static func checkStoredFile(
        _ bytes: [UInt8], recipient: String, name: String, messageID: String,
        from: String = "defaultNS (localhost [127.0.0.1])"
    ) {
        #expect(!bytes.contains(0x0D), "stored with LF line ends, no CR")
        let lines = String(decoding: bytes, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        let date =
            /[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4} \([A-Za-z]+\)/
        let expected: [(String) -> Bool] = [
            { $0 == "Return-Path: <abgelaescht@ausgebuefft>" },
            { $0 == "Delivered-To: \(recipient)" },
            { $0 == "Received: from \(from)" },
            { $0 == "\tby \(name) (MailLab) with SMTP id \(messageID)" },
            { $0 == "\tfor <\(recipient)>;" },
            { $0.hasPrefix("\t") && $0.dropFirst().wholeMatch(of: date) != nil },
            { $0 == "Subject: test" },
            { $0.hasPrefix("Date: ") && $0.dropFirst(6).wholeMatch(of: date) != nil },
            { $0.wholeMatch(of: /Message-ID: <[0-9a-f]{16}@(.+)>/)?.1 == name[...] },
            { $0 == "" },
            { $0 == "first body line" },
            { $0 == "second body line" },
            { $0 == "" },  // the final LF
        ]
        #expect(lines.count == expected.count, "stored file:\n\(lines.joined(separator: "\n"))")
        for (index, line) in lines.enumerated() where index < expected.count {
            #expect(expected[index](line), "stored line \(index + 1): \(line.debugDescription)")
        }
    }

    static func permissions(_ path: String) -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return info.st_mode & 0o7777
    }

    static func messageID(in replies: [String]) -> String? {
        for line in replies {
            if let match = line.wholeMatch(
                of: /250 2\.0\.0 ([0-9a-f]{8}) Message accepted for delivery\r\n/)
            {
                return String(match.1)
            }
        }
        return nil
    }

    /// OpenSMTPD's `-T smtp` trace of §7.2, verbatim, without its start-up line and its
    /// delivery line (MailLab delivers before the 250, so that line comes earlier).
    static let goldenTrace = #"""
        smtp: 0x556167d5bbf0: connected to listener 0x556167d7d3d0 [hostname=vm, port=2525, tag=]
        smtp: 0x556167d5bbf0: STATE_NEW -> STATE_CONNECTED
        cd2dc1d81fff0092 smtp connected address=127.0.0.1 host=localhost
        smtp: 0x556167d5bbf0: >>> 220 vm ESMTP OpenSMTPD
        smtp: 0x556167d5bbf0: <<< HELO defaultNS
        smtp: 0x556167d5bbf0: STATE_CONNECTED -> STATE_HELO
        smtp: 0x556167d5bbf0: >>> 250 vm Hello defaultNS [127.0.0.1], pleased to meet you
        smtp: 0x556167d5bbf0: <<< MAIL FROM: abgelaescht@ausgebuefft
        smtp: 0x556167d5bbf0: >>> 553 5.1.0 Sender address syntax error
        cd2dc1d81fff0092 smtp failed-command command="MAIL FROM: abgelaescht@ausgebuefft" result="553 5.1.0 Sender address syntax error"
        smtp: 0x556167d5bbf0: <<< MAIL FROM: <abgelaescht@ausgebuefft>
        smtp: 0x556167d5bbf0: >>> 250 2.0.0 Ok
        smtp: 0x556167d5bbf0: <<< RCPT TO: <root@localhost>
        smtp: 0x556167d5bbf0: >>> 250 2.1.5 Destination address valid: Recipient ok
        smtp: 0x556167d5bbf0: <<< DATA
        smtp: 0x556167d5bbf0: >>> 354 Enter mail, end with "." on a line by itself
        smtp: 0x556167d5bbf0: STATE_HELO -> STATE_BODY
        <<< [MSG] Subject: test
        <<< [MSG] 
        <<< [MSG] first body line
        <<< [MSG] second body line
        <<< [MSG] .
        <<< [EOM]
        smtp: 0x556167d5bbf0: >>> 250 2.0.0 c54610f7 Message accepted for delivery
        cd2dc1d81fff0092 smtp message msgid=c54610f7 size=278 nrcpt=1 proto=SMTP
        cd2dc1d81fff0092 smtp envelope evpid=c54610f7934e0634 from=<abgelaescht@ausgebuefft> to=<root@localhost>
        smtp: 0x556167d5bbf0: STATE_BODY -> STATE_HELO
        smtp: 0x556167d5bbf0: <<< QUIT
        smtp: 0x556167d5bbf0: >>> 221 2.0.0 Bye
        smtp: 0x556167d5bbf0: STATE_HELO -> STATE_QUIT
        cd2dc1d81fff0092 smtp disconnected reason=quit
        """#

    /// Masks what differs per run or per implementation: pointers, ids, port, size, name.
    static func normalizedTrace(_ line: some StringProtocol, serverName: String) -> String {
        var line = String(line)
        line.replace(#/smtp: 0x[0-9a-f]+:/#, with: "smtp: 0xS:")
        line.replace(
            #/listener 0x[0-9a-f]+ \[hostname=[^,]*, port=\d+,/#,
            with: "listener 0xL [hostname=N, port=P,")
        line.replace(#/^[0-9a-f]{16} smtp /#, with: "SID smtp ")
        line.replace(#/msgid=[0-9a-f]{8} size=\d+/#, with: "msgid=M size=Z")
        line.replace(#/evpid=[0-9a-f]{16}/#, with: "evpid=E")
        line.replace(#/ [0-9a-f]{8} Message accepted/#, with: " M Message accepted")
        line.replace(#/>>> 220 \S+ ESMTP \S+$/#, with: ">>> 220 N ESMTP S")
        line = line.replacingOccurrences(of: ">>> 250 \(serverName) Hello", with: ">>> 250 N Hello")
        line = line.replacingOccurrences(of: ">>> 250 vm Hello", with: ">>> 250 N Hello")
        return line
    }

    /// The lines of `golden` appear in `log` in the same order (other lines may come between).
    static func traceContainsInOrder(_ log: String, _ golden: String, serverName: String)
        -> [String]
    {
        let ours = log.split(separator: "\n").map { normalizedTrace($0, serverName: serverName) }
        var position = 0
        var missing: [String] = []
        for line in golden.split(separator: "\n", omittingEmptySubsequences: false) {
            let wanted = normalizedTrace(line, serverName: serverName)
            if let found = ours[position...].firstIndex(of: wanted) {
                position = found + 1
            } else {
                missing.append(wanted)
            }
        }
        return missing
    }

    @Test(.requires(.smtpd)) func realSmtpdBinaryWithSeedConfigAndRoot() throws {
        let directory = try TempDir("golden")
        defer { directory.remove() }
        let maildir = "/tmp/mlt-golden-md-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: maildir) }
        let smtpd = try SmtpdProcess(config: seedConfig(maildir: maildir), directory: directory)
        defer { smtpd.stop() }

        let replies = try Self.runDialogue(port: smtpd.port, recipient: "root@localhost")
        #expect(Self.normalized(replies) == Self.goldenReplies)
        #expect(replies.first?.hasSuffix(" ESMTP MailLab\r\n") == true)
        let name = String(replies.first?.dropFirst(4).split(separator: " ").first ?? "")

        let files = waitForFiles(maildir, count: 1)
        try #require(files.count == 1, "one file in new/: \(files)")
        Self.checkStoredFile(
            readBytes(files[0]), recipient: "root@localhost", name: name,
            messageID: Self.messageID(in: replies) ?? "?")
        #expect(eventually(within: 5) { maildirFiles(maildir, "tmp").isEmpty })
        // Created 0700, the file 0600, as OpenSMTPD's maildir delivery does.
        for folder in ["", "/new", "/cur", "/tmp"] {
            #expect(Self.permissions(maildir + folder) == 0o700, "\(maildir + folder)")
        }
        #expect(Self.permissions(files[0]) == 0o600)
        // The trace speaks OpenSMTPD's -T smtp format, line for line.
        #expect(smtpd.waitForLog("smtp disconnected reason=quit"))
        let missing = Self.traceContainsInOrder(smtpd.log, Self.goldenTrace, serverName: name)
        #expect(
            missing.isEmpty, "trace lines missing or out of order: \(missing)\nlog:\n\(smtpd.log)")
        #expect(smtpd.log.contains(" mda delivery msgid="))
    }

    @Test(.testServer()) func inProcessWithAnOrdinaryUser() async throws {
        let server = try TraitServer.current()
        let replies = try await blocking { [port = server.port] in
            try Self.runDialogue(port: port, recipient: "osdrefuser@localhost")
        }
        #expect(Self.normalized(replies) == Self.goldenReplies)
        #expect(replies.first == "220 vm ESMTP MailLab\r\n")
        #expect(replies.contains("250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n"))
        let message = try await server.server.nextMessage(timeout: 5)
        #expect(message.recipients == ["osdrefuser@localhost"])
        #expect(message.files.count == 1)
        let files = maildirFiles(server.maildir)
        try #require(files.count == 1)
        #expect(
            message.files.first.map { URL(fileURLWithPath: $0).lastPathComponent }
                == URL(fileURLWithPath: files[0]).lastPathComponent)
        Self.checkStoredFile(
            readBytes(files[0]), recipient: "osdrefuser@localhost", name: "vm",
            messageID: Self.messageID(in: replies) ?? "?")
    }

    @Test func traceComparisonNoticesChanges() {
        let golden = "smtp: 0x1: <<< HELO a\nsmtp: 0x1: >>> 250 2.0.0 Ok"
        #expect(
            Self.traceContainsInOrder(
                "smtp: 0xab: <<< HELO a\nx\nsmtp: 0xab: >>> 250 2.0.0 Ok", golden, serverName: "vm"
            ).isEmpty)
        #expect(
            Self.traceContainsInOrder(
                "smtp: 0xab: >>> 250 2.0.0 Ok\nsmtp: 0xab: <<< HELO a", golden, serverName: "vm"
            ).count == 1)
        #expect(
            Self.traceContainsInOrder(
                "smtp: 0xab: <<< HELO a\nsmtp: 0xab: >>> 250 2.0.0: Ok", golden, serverName: "vm"
            ).count == 1)
    }

    @Test func normalizationKeepsRealDifferences() {
        // The comparison above must be able to fail: a wrong reply survives normalization.
        var wrong = Self.goldenReplies
        wrong[0] = "220 box ESMTP MailLab\r\n"
        wrong[3] = "250 2.0.0: Ok\r\n"
        #expect(Self.normalized(wrong) != Self.goldenReplies)
        wrong[3] = "250 2.0.0 Ok\r\n"
        #expect(Self.normalized(wrong) == Self.goldenReplies)
    }
}
