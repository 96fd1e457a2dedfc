import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// Reference hostile-input.md: limits that close the session, abandoned transactions, a
/// client that never reads, the session limit, injection-class envelopes.
@Suite struct HostileInputTests {
    @Test(.requires(.smtpd)) func overlongLinesCloseTheSessionOnTheRealBinary() throws {
        let directory = try TempDir("hostile")
        defer { directory.remove() }
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir"), directory: directory,
            extraArguments: [])
        defer { smtpd.stop() }
        for (line, reply) in [
            (String(repeating: "X", count: 70000), "500 5.0.0 Line too long\r\n"),
            (String(repeating: "X", count: 2048), "500 5.0.0 Command line too long\r\n"),
            ("NOOP " + String(repeating: "a", count: 2043), "500 5.0.0 Command line too long\r\n"),
        ] {
            let client = try LineClient(port: smtpd.port)
            #expect(try client.readReply().first?.hasPrefix("220 ") == true)
            #expect(try client.command("HELO defaultNS").hasPrefix("250 "))
            try client.send(line + "\r\n")
            #expect(try client.readLine() == reply, "\(line.count)-byte line")
            #expect(client.closesWithin(3), "closed after \(line.count)-byte line")
        }
        // The server itself is unharmed.
        let client = try LineClient(port: smtpd.port)
        _ = try client.readReply()
        #expect(try client.command("NOOP") == "250 2.0.0 Ok")
    }

    @Test(.testServer()) func disconnectInsideDataDeliversNothing() async throws {
        let server = try TraitServer.current()
        try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            for command in [
                "HELO defaultNS", "MAIL FROM:<abgelaescht@ausgebuefft>",
                "RCPT TO:<osdrefuser@localhost>", "DATA",
            ] {
                _ = try client.command(command)
            }
            try client.send("Subject: Aborted\r\n\r\npartial\r\n")
            // Even a complete-looking end without CRLF before the close must not count.
            try client.send(".")
        }
        // The client is gone (its deinit closed the socket). A second, complete message:
        try await blocking { [port = server.port] in
            let replies = try GoldenDialogueTests.runDialogue(
                port: port, recipient: "osdrefuser@localhost")
            #expect(replies.contains { $0.hasSuffix("Message accepted for delivery\r\n") })
        }
        let message = try await server.server.nextMessage(timeout: 5)
        #expect(message.text.contains("Subject: test\n"))
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(server.server.messages.count == 1)
        #expect(!server.server.messages.contains { $0.text.contains("Aborted") })
        #expect(maildirFiles(server.maildir).count == 1)
        #expect(eventually(within: 5) { maildirFiles(server.maildir, "tmp").isEmpty })
        #expect(server.server.sessionCount == 0)
    }

    /// Resident memory of a process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let status = readText("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else {
            return -1
        }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    @Test(.requires(.smtpd)) func aClientThatNeverReadsIsThrottled() throws {
        let directory = try TempDir("flood")
        defer { directory.remove() }
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir"), directory: directory,
            extraArguments: [])
        defer { smtpd.stop() }
        let before = Self.residentKiB(smtpd.sessionPID)

        let flooder = try LineClient(port: smtpd.port)
        _ = try flooder.readReply()
        var small: Int32 = 65_536
        setsockopt(flooder.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(flooder.fd, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        flooder.setSendTimeout(1)
        let chunk = Array(String(repeating: "NOOP\r\n", count: 10_000).utf8)
        let limit = 50 << 20
        var sent = 0
        var blocked = false
        let giveUp = Date().addingTimeInterval(30)
        while sent < limit && !blocked && Date() < giveUp {
            var offset = 0
            while offset < chunk.count {
                let n = chunk.withUnsafeBytes {
                    send(
                        flooder.fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)
                    )
                }
                if n > 0 {
                    offset += n
                    sent += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    blocked = (errno == EAGAIN || errno == EWOULDBLOCK)
                    break
                }
            }
        }
        #expect(blocked, "sending never blocked: \(sent) bytes went in")
        #expect(sent < limit)
        // Not merely slow: the server has stopped reading. A server still catching up on a
        // loaded machine may take a little more before it stops, but within a few attempts a
        // send goes in not at all, and what went in after the first block stays small.
        flooder.setSendTimeout(1.5)
        var more = 0
        var stopped = false
        for _ in 0..<20 where !stopped {
            let n = chunk.withUnsafeBytes {
                send(flooder.fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                more += n
            } else if n < 0 && errno != EINTR {
                stopped = (errno == EAGAIN || errno == EWOULDBLOCK)
                if !stopped { break }
            }
        }
        #expect(stopped, "sending never stopped: another \(more) bytes went in")
        #expect(more < 4 << 20, "another \(more) bytes went in after the first block")
        let after = Self.residentKiB(smtpd.sessionPID)
        #expect(before > 0 && after > 0)
        #expect(after - before < 32 * 1024, "smtpd grew from \(before) KiB to \(after) KiB")

        // Another client is served meanwhile.
        let other = try LineClient(port: smtpd.port)
        #expect(try other.readReply().first?.hasPrefix("220 ") == true)
        #expect(try other.command("HELO other").hasPrefix("250 "))
        #expect(try other.command("NOOP") == "250 2.0.0 Ok")
        #expect(smtpd.isRunning)

        // A graceful stop is not held up by the client that never reads.
        let started = Date()
        smtpd.signal(SIGTERM)
        #expect(smtpd.wait(timeout: 15) == 0)
        #expect(Date().timeIntervalSince(started) < 5, "stop waits at most 2 s for sessions")
        #expect(smtpd.log.hasSuffix("Exiting\n"))
        _ = flooder
    }

    @Test(.testServer(config: nil, configure: { $0.maxSessions = 2 }))
    func theSessionLimitRefusesWith421() async throws {
        let server = try TraitServer.current()
        try await blocking { [port = server.port] in
            let first = try LineClient(port: port)
            let second = try LineClient(port: port)
            #expect(try first.readReply() == ["220 vm ESMTP MailLab\r\n"])
            #expect(try second.readReply() == ["220 vm ESMTP MailLab\r\n"])
            let third = try LineClient(port: port)
            #expect(
                try third.readLine() == "421 4.3.2 vm Too many sessions, try again later\r\n")
            #expect(third.closesWithin(3))
            // The two admitted sessions still work; once one ends, a new one is admitted.
            #expect(try first.command("NOOP") == "250 2.0.0 Ok")
            #expect(try second.command("QUIT") == "221 2.0.0 Bye")
            #expect(second.closesWithin(3))
            var admitted = false
            for _ in 0..<50 where !admitted {
                let next = try LineClient(port: port)
                admitted = (try next.readLine()) == "220 vm ESMTP MailLab\r\n"
                if !admitted { usleep(50_000) }
            }
            #expect(admitted)
        }
    }

    /// Envelopes of the CVE-2020-7247 class and path tricks are refused; nothing is stored.
    @Test(
        .testServer(),
        arguments: [
            ("MAIL FROM:<;sleep 66;>", "553 5.1.0 Sender address syntax error"),
            ("MAIL FROM:<a<NUL>b@c.example>", "553 5.1.0 Sender address syntax error"),
        ])
    func injectionSenders(command: String, reply: String) async throws {
        let server = try TraitServer.current()
        let got = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            _ = try client.command("HELO defaultNS")
            return try client.command(command.replacingOccurrences(of: "<NUL>", with: "\u{0}"))
        }
        #expect(got == reply)
    }

    @Test(
        .testServer(),
        arguments: [
            "<../../etc/passwd@localhost>", "<`id`|$(id)@localhost>",
            "<\"|touch /tmp/pwn\"@localhost>",
            "<osdrefuser/../x@localhost>",
        ])
    func injectionRecipientsAreRefused(recipient: String) async throws {
        let server = try TraitServer.current()
        let got = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            _ = try client.command("HELO defaultNS")
            _ = try client.command("MAIL FROM:<a@b.example>")
            return try client.command("RCPT TO:\(recipient)")
        }
        #expect(got.hasPrefix("550 ") || got.hasPrefix("501 "), "RCPT TO:\(recipient) → \(got)")
    }

    /// hostile-input.md §3.1: every near-miss of `<CRLF>.<CRLF>` followed by a whole smuggled
    /// transaction, in one write. Safe: one reply, one message (the near miss was data) or a
    /// rejection; never two messages.
    @Test(
        .testServer(),
        arguments: [
            "\\n.\\n", "\\n.\\r\\n", "\\r\\n.\\n", "\\r.\\r", "\\r.\\n", "\\n.\\r", "\\r.\\r\\n",
            "\\r\\n.\\r",
            "\\r\\n.\\r\\r\\n", "\\r\\n\\0.\\r\\n",
        ])
    func smugglingNearMissesAreData(ending: String) async throws {
        let bytes = ending.replacingOccurrences(of: "\\r", with: "\r").replacingOccurrences(
            of: "\\n", with: "\n"
        )
        .replacingOccurrences(of: "\\0", with: "\u{0}")
        let server = try TraitServer.current()
        let (reply, silent) = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            for command in [
                "EHLO defaultNS", "MAIL FROM:<abgelaescht@ausgebuefft>",
                "RCPT TO:<osdrefuser@localhost>",
                "DATA",
            ] {
                _ = try client.command(command)
            }
            try client.send(
                "Subject: legit\r\n\r\nline before fake end" + bytes
                    + "MAIL FROM:<smuggled@ausgebuefft>\r\nRCPT TO:<osdrefuser@localhost>\r\nDATA\r\n"
                    + "Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
            return (try client.readLine(), client.staysSilent(0.5))
        }
        #expect(silent, "a second reply: the near miss ended DATA")
        let accepted =
            reply.map { lineMatches($0, "250 2.0.0 <id> Message accepted for delivery") }
            ?? false
        #expect(accepted || reply?.hasPrefix("5") == true, "\(reply ?? "(closed)")")
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(server.server.messages.count == (accepted ? 1 : 0))
        if accepted {
            let text = server.server.messages.first?.text ?? ""
            #expect(text.contains("line before fake end"))
            #expect(
                text.contains("MAIL FROM:<smuggled@ausgebuefft>"),
                "the smuggled commands stayed data")
        }
    }
}
