import Foundation
import SMTPClient
import Testing

@Suite struct ChatRunnerTests {
    func run(_ text: String, server: FakeServer, timeout: Double = 5) throws -> ChatOutcome {
        let script = try ChatScriptParser.parse(text, name: "t.chat")
        var options = ChatOptions(host: "127.0.0.1", port: server.port)
        options.timeout = timeout
        let outcome = ChatRunner.run(script, options: options)
        server.finish()
        return outcome
    }

    @Test func seedDialoguePassesWithTranscript() throws {
        let server = try FakeServer(answer: cannedSMTP)
        let outcome = try run(
            """
            connect 192.0.2.1 1
            expect 220 * ESMTP *
            send HELO defaultNS
            expect 250
            send MAIL FROM: abgelaescht@ausgebuefft
            expect 553 5.1.0 Sender address syntax error
            send MAIL FROM: <abgelaescht@ausgebuefft>
            expect 250 2.0.0 Ok
            send RCPT TO: <micha@localhost>
            expect 250 2.1.5 Destination address valid: Recipient ok
            send DATA
            expect 354
            body <<END
            Subject: test

            .dot
            END
            expect 250 2.0.0 * Message accepted for delivery
            send QUIT
            expect 221 2.0.0 Bye
            """, server: server)
        #expect(outcome.passed, "\(outcome.failure.map { "\($0)" } ?? "")")
        // The script's host/port were overridden by the options (192.0.2.1:1 is unreachable).
        #expect(outcome.transcript.first == "== connected to 127.0.0.1:\(server.port)")
        #expect(outcome.transcript[1] == "S: 220 fake ESMTP Fake")
        #expect(outcome.transcript[2] == "C: HELO defaultNS")
        #expect(outcome.transcript.contains("C: ..dot"))
        #expect(outcome.transcript.last == "S: 221 2.0.0 Bye")
        // What the server got: the body dot-stuffed, then the terminator.
        #expect(server.received.suffix(5) == ["Subject: test", "", "..dot", ".", "QUIT"])
    }

    @Test func mismatchNamesTheLineExpectedAndGot() throws {
        let server = try FakeServer(answer: cannedSMTP)
        let outcome = try run(
            """
            connect
            expect 220
            send HELO x
            expect 250
            send MAIL FROM:<a@b.example>
            expect 250
            send RCPT TO:<x@example.com>
            expect 250 2.1.5 *
            send QUIT
            expect 221
            """, server: server)
        let failure = try #require(outcome.failure)
        #expect(failure.line == 8)
        #expect(failure.expected == "250 2.1.5 *")
        #expect(failure.got == "550 Invalid recipient: <x@example.com> (code differs)")
        #expect(
            failure.description
                == "t.chat:8: expected 250 2.1.5 *, got 550 Invalid recipient: <x@example.com> (code differs)"
        )
        #expect(outcome.transcript.last == "!! \(failure)")
        // The run stopped at the first mismatch: QUIT was never sent.
        #expect(!server.received.contains("QUIT"))
    }

    @Test func pipelineIsOneWriteAndRepliesAreCheckedInOrder() throws {
        let server = try FakeServer(answer: cannedSMTP)
        let outcome = try run(
            """
            connect
            expect 220
            send EHLO x
            expect 250 PIPELINING
            pipeline
            send MAIL FROM:<a@b.example>
            send RCPT TO:<c@d.example>
            send DATA
            expect 250 2.0.0 Ok
            expect 250 2.1.5 *
            expect 354
            end
            body <<.
            Subject: x
            .
            expect 250
            pipeline
            send QUIT
            expect 221
            expect close
            end
            """, server: server)
        #expect(outcome.passed, "\(outcome.failure.map { "\($0)" } ?? "")")
        let pipelined = "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n".utf8.count
        #expect(server.reads.contains(pipelined))
        #expect(outcome.transcript.last == "S: <connection closed by server>")
    }

    @Test func expectCloseFailsWhenTheServerStaysOpen() throws {
        let server = try FakeServer(answer: cannedSMTP)
        let outcome = try run(
            "connect\nexpect 220\nsend NOOP\nexpect 250\ntimeout 0.3\nexpect close\n",
            server: server)
        #expect(outcome.failure?.line == 6)
        #expect(outcome.failure?.got == "connection still open after 0.3 s")
    }

    @Test func silenceIsATimeoutAndCloseIsReported() throws {
        let silent = try FakeServer(answer: cannedSMTP)
        let quiet = try run(
            "connect\nexpect 220\ntimeout 0.2\nsend SILENT\nexpect 250\n", server: silent)
        #expect(quiet.failure?.line == 5)
        #expect(quiet.failure?.got == "timeout after 0.2 s waiting for a reply")

        let closing = try FakeServer(answer: cannedSMTP)
        let closed = try run("connect\nexpect 220\nsend BYE\nexpect 250\n", server: closing)
        #expect(closed.failure?.line == 4)
        #expect(closed.failure?.got == "connection closed by the server before replying")
    }

    @Test func malformedReplyIsAFailureNotACrash() throws {
        let server = try FakeServer(banner: "2") { _ in [] }
        let outcome = try run("connect\nexpect 220\n", server: server)
        #expect(outcome.failure?.got == "malformed reply line \"2\"")
    }

    @Test func refusedConnectionIsReported() throws {
        // A port that was just free: bind, note it, close.
        let (fd, port) = try TCP.listen(host: "127.0.0.1", port: 0)
        close(fd)
        let script = try ChatScriptParser.parse(
            "connect 127.0.0.1 \(port)\nexpect 220\n", name: "r.chat")
        let outcome = ChatRunner.run(script, options: ChatOptions())
        #expect(outcome.failure?.line == 1)
        #expect(
            outcome.failure?.got
                == "connect to 127.0.0.1 port \(port) (tcp) failed: Connection refused")
    }

    @Test func unknownNamespaceIsReported() throws {
        let script = try ChatScriptParser.parse(
            "connect 127.0.0.1 25 netns mlt-no-such-ns\n", name: "n")
        let outcome = ChatRunner.run(script, options: ChatOptions())
        #expect(
            outcome.failure?.got
                == "unknown namespace mlt-no-such-ns (no /run/netns/mlt-no-such-ns; see mlab netns list)"
        )
    }
}

@Suite struct HostileServerTests {
    func run(_ text: String, banner: String) throws -> ChatOutcome {
        let server = try FakeServer(banner: banner, answer: cannedSMTP)
        var options = ChatOptions(host: "127.0.0.1", port: server.port)
        options.timeout = 5
        let outcome = ChatRunner.run(
            try ChatScriptParser.parse(text, name: "h.chat"), options: options)
        server.finish()
        return outcome
    }

    @Test func overLongLineIsRefused() throws {
        let outcome = try run(
            "connect\nexpect 220\n", banner: "220 " + String(repeating: "x", count: 70000))
        #expect(outcome.failure?.got == "line from the server longer than 65536 bytes")
    }

    @Test func controlBytesAreShownEscaped() throws {
        let outcome = try run(
            "connect\nexpect 220 a*\nsend-raw \"NOOP\\n\"\nexpect 250\n",
            banner: "220 a\u{0}b\rc\u{1b}[31m")
        #expect(outcome.passed, "\(outcome.transcript)")
        #expect(outcome.transcript[1] == "S: 220 a\\x00b\\rc\\x1b[31m")
        // A bare LF the client sent is visible as such.
        #expect(outcome.transcript[2] == "C: NOOP\\n")
    }

    @Test func continuationWithAnotherCodeIsAMismatch() throws {
        let outcome = try run("connect\nexpect 220\n", banner: "220-first\r\n550 second")
        #expect(
            outcome.failure?.got
                == "reply code changed inside a multi-line reply (was 220): \"550 second\"")
    }
}
