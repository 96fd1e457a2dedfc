import Foundation
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

    @Test func realSmtpdBinaryWithSeedConfigAndRoot() throws {
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
        #expect(maildirFiles(maildir, "tmp").isEmpty)
        // The trace speaks OpenSMTPD's -T smtp format.
        #expect(smtpd.log.contains(": <<< MAIL FROM: <abgelaescht@ausgebuefft>"))
        #expect(smtpd.log.contains(": >>> 221 2.0.0 Bye"))
    }

    @Test func inProcessWithAnOrdinaryUser() async throws {
        try await withServer { server in
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
