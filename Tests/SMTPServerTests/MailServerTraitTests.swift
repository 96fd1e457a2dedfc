import Foundation
import MailLabTesting
import SMTPProtocol
import SMTPServer
import Synchronization
import Testing

/// The `.mailServer` trait: a server of its own per test, ready before the body runs and
/// stopped after it.
@Suite struct MailServerTraitTests {
    private static let ports = Mutex<[UInt16]>([])

    @Test(.mailServer) func aTestGetsARunningInMemoryServer() async throws {
        let server = try #require(MailServer.current)
        #expect(server.port != 0)
        try await blocking { [port = server.port] in
            try EmbeddingAPITests.send(port: port, subject: "trait")
        }
        let message = try await server.nextMessage(timeout: 5)
        #expect(message.subject == "trait")
        #expect(message.files.isEmpty)
    }

    @Test(.mailServer(store: .temporaryMaildir)) func aTemporaryMaildirHoldsTheFiles() async throws
    {
        let server = try #require(MailServer.current)
        try await blocking { [port = server.port] in
            try EmbeddingAPITests.send(port: port, subject: "on disk")
        }
        let message = try await server.nextMessage(timeout: 5)
        #expect(message.files.count == 1)
        #expect(message.files.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        #expect(message.header("Subject") == "on disk")
    }

    @Test(.mailServer) func nextMessageMatchingPassesOverOthers() async throws {
        let server = try #require(MailServer.current)
        try await blocking { [port = server.port] in
            for subject in ["one", "two", "three"] {
                try EmbeddingAPITests.send(port: port, subject: subject)
            }
        }
        let third = try await server.nextMessage(matching: { $0.subject == "three" }, timeout: 5)
        #expect(third.subject == "three")
        await #expect(throws: (any Error).self) {
            try await server.nextMessage(matching: { $0.subject == "four" }, timeout: 0.3)
        }
    }

    @Test(.mailServer(transcripts: true)) func aTestCanAssertOnTheSessionsTranscript()
        async throws
    {
        let server = try #require(MailServer.current)
        let directory = try #require(server.transcriptDirectory)
        try await blocking { [port = server.port] in
            try EmbeddingAPITests.send(port: port, subject: "transcribed")
        }
        _ = try await server.nextMessage(timeout: 5)
        let transcripts = try await server.transcripts(count: 1, timeout: 5)
        let transcript = try #require(transcripts.first)
        let client = String(decoding: transcript.bytes(from: .client), as: UTF8.self)
        #expect(client.contains("Subject: transcribed\r\n"))
        #expect(String(decoding: transcript.bytes(from: .server), as: UTF8.self).hasPrefix("220 "))
        #expect(directory.hasPrefix("/"))
    }

    @Test func outsideTheTraitThereIsNoServer() {
        #expect(MailServer.current == nil)
    }

    /// The scope itself: the server listens inside, and nothing of it is left after.
    @Test func theServerIsStoppedWhenTheTestEnds() async throws {
        let kept = Mutex<MailServer?>(nil)
        let trait = MailServerTrait.mailServer(configure: { $0.serverName = "scoped" })
        try await trait.provideScope(for: Test.current!, testCase: Test.Case.current) {
            let server = try #require(MailServer.current)
            kept.withLock { $0 = server }
            #expect(server.addresses.count == 1)
        }
        let server = try #require(kept.withLock { $0 })
        #expect(server.addresses.isEmpty, "the listener is closed")
        #expect(MailServer.current == nil)
    }
}

/// On a suite, each test gets a server of its own.
@Suite(.mailServer) struct MailServerTraitSuiteTests {
    /// Kept alive, so that no two servers can have the same identity.
    private static let seen = Mutex<[MailServer]>([])

    @Test(arguments: 1...3) func eachTestCaseHasItsOwnServer(_ index: Int) throws {
        let server = try #require(MailServer.current)
        let fresh = Self.seen.withLock { seen in
            defer { seen.append(server) }
            return !seen.contains { $0 === server }
        }
        #expect(fresh, "test case \(index) shares a server")
    }
}

/// The trait's `configure` carries fault rules to the test's server.
@Suite struct MailServerTraitFaultTests {
    @Test(
        .mailServer(configure: { options in
            options.faults = FaultPlan(
                rules: [
                    try! FaultRule(
                        stage: .rcpt, action: .reply(try! FaultReply(parsing: ["451 4.7.1 Later"])))
                ], seed: 1)
        }))
    func faultRulesReachTheTraitServer() async throws {
        let server = try #require(MailServer.current)
        let reply = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            _ = try client.command("HELO x")
            _ = try client.command("MAIL FROM:<a@example.org>")
            return try client.command("RCPT TO:<b@example.org>")
        }
        #expect(reply == "451 4.7.1 Later")
    }
}

/// The trait's `config:` form: smtpd.conf text, parsed as smtpd parses its file, on a free
/// port of 127.0.0.1, `@MAILDIR@` the test's temporary Maildir.
@Suite struct MailServerTraitConfigTests {
    @Test(
        .mailServer(
            config: """
                listen on 127.0.0.1 port 2525
                action "local" maildir "@MAILDIR@" user root
                match from any for any action "local"
                """))
    func theConfigsActionDeliversIntoTheTemporaryMaildir() async throws {
        let server = try #require(MailServer.current)
        let maildir = try #require(MailServer.currentMaildir)
        #expect(server.addresses.map(\.host) == ["127.0.0.1"])
        #expect(server.port != 2525, "the listener was moved to a free port")
        try await blocking { [port = server.port] in
            try EmbeddingAPITests.send(port: port, subject: "configured")
        }
        let message = try await server.nextMessage(timeout: 5)
        #expect(message.subject == "configured")
        #expect(message.files.count == 1)
        #expect(message.files.allSatisfy { $0.hasPrefix(maildir + "/new/") })
        #expect(maildirFiles(maildir).count == 1)
    }

    @Test(
        .mailServer(
            config: """
                listen on 127.0.0.1
                action "local" maildir "@MAILDIR@"
                match from any for any action "local"
                fault seed 7
                fault at rcpt reply "451 4.7.1 Later"
                """))
    func theConfigsFaultStatementsApplyAndTheLogSaysSo() async throws {
        let server = try #require(MailServer.current)
        let log = try #require(MailServer.currentLog)
        let reply = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            _ = try client.command("HELO x")
            _ = try client.command("MAIL FROM:<a@example.org>")
            return try client.command("RCPT TO:<b@example.org>")
        }
        #expect(reply == "451 4.7.1 Later")
        #expect(log.lines.contains("info: fault injection: 1 rule(s), seed=7"))
    }

    @Test func aConfigErrorFailsTheTestWithItsLineAndTheBodyDoesNotRun() async throws {
        let trait = MailServerTrait.mailServer(
            config: """
                listen on 127.0.0.1
                action "local" maildir "@MAILDIR@"
                match from any for any acton "local"
                """)
        let ran = Mutex(false)
        try await withKnownIssue {
            try await trait.provideScope(for: Test.current!, testCase: Test.Case.current) {
                ran.withLock { $0 = true }
            }
        } matching: { issue in
            issue.comments.contains { $0.rawValue.hasPrefix("smtpd.conf:3: ") }
                && issue.sourceLocation?.fileName == "MailServerTraitTests.swift"
        }
        #expect(!ran.withLock { $0 })
    }

    @Test func aListenerOffLoopbackIsAnErrorAtItsLine() async throws {
        let trait = MailServerTrait.mailServer(
            config: """
                listen on 127.0.0.1
                listen on 0.0.0.0 port 2525
                action "local" maildir "@MAILDIR@"
                match from any for any action "local"
                """)
        let ran = Mutex(false)
        try await withKnownIssue {
            try await trait.provideScope(for: Test.current!, testCase: Test.Case.current) {
                ran.withLock { $0 = true }
            }
        } matching: { issue in
            issue.comments.map(\.rawValue) == [
                "smtpd.conf:2: a test's server listens on 127.0.0.1 only"
            ]
        }
        #expect(!ran.withLock { $0 })
    }
}
