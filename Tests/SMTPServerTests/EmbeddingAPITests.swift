import Foundation
import Glibc
import SMTPServer
import Testing

/// The embedding API as a test author uses it: in-memory and Maildir catch-all servers on
/// port 0, `nextMessage`, `messages`, `stop`.
@Suite struct EmbeddingAPITests {
    static func send(port: UInt16, subject: String, recipients: [String] = ["x@y.example"]) throws {
        let client = try LineClient(port: port)
        _ = try client.readReply()
        #expect(try client.command("EHLO embed").hasSuffix("250 HELP"))
        #expect(try client.command("MAIL FROM:<>") == "250 2.0.0 Ok")
        for recipient in recipients {
            #expect(try client.command("RCPT TO:<\(recipient)>").hasPrefix("250 2.1.5"))
        }
        #expect(try client.command("DATA").hasPrefix("354 "))
        let reply = try client.command("Subject: \(subject)\r\n\r\nhello\r\n.")
        #expect(
            lineMatches(reply + "\r\n", "250 2.0.0 <id> Message accepted for delivery"), "\(reply)")
        #expect(try client.command("QUIT") == "221 2.0.0 Bye")
    }

    @Test func inMemoryServerHandsOutMessagesInOrder() async throws {
        var options = MailServer.Options()
        options.loops = 1
        options.serverName = "vm"
        let server = try MailServer.inMemory(options: options)
        try server.start()
        defer { server.stop() }
        let port = try #require(server.addresses.first?.port)
        #expect(port != 0)
        #expect(server.addresses.first?.host == "127.0.0.1")

        try await blocking {
            try Self.send(port: port, subject: "one")
            try Self.send(port: port, subject: "two", recipients: ["a@b.example", "c@d.example"])
        }
        let first = try await server.nextMessage(timeout: 5)
        let second = try await server.nextMessage(timeout: 5)
        #expect(first.text.contains("Subject: one\n"))
        #expect(second.text.contains("Subject: two\n"))
        #expect(second.recipients == ["a@b.example", "c@d.example"])
        #expect(first.sender == "")
        #expect(first.files.isEmpty)
        // Null sender, EHLO: no Return-Path, `with ESMTP` (reference §7.3).
        #expect(first.text.hasPrefix("Delivered-To: x@y.example\nReceived: from embed "))
        #expect(first.text.contains(" with ESMTP id \(first.id)"))
        #expect(server.messages.map(\.id) == [first.id, second.id])
        await #expect(throws: (any Error).self) { try await server.nextMessage(timeout: 0.2) }
    }

    @Test func stopClosesTheListenerAndTellsIdleSessions() async throws {
        var options = MailServer.Options()
        options.loops = 2
        let name = "stop-\(UInt32.random(in: 0...UInt32.max))"
        options.serverName = name
        let server = try MailServer.inMemory(options: options)
        try server.start()
        let port = try #require(server.addresses.first?.port)
        let outcome = try await blocking { () -> (String?, Bool, Bool) in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            _ = try client.command("HELO idle")
            server.stop()
            let notice = try client.readLine()
            let closed = client.closesWithin(3)
            // Another test's server may get the freed port at once: "nothing listens" means
            // nothing of this server (its banner names it).
            let after = try? LineClient(port: port, timeout: 1)
            let refused =
                after.map { !((try? $0.readReply().joined()) ?? "").contains(name) } ?? true
            return (notice, closed, refused)
        }
        #expect(outcome.0 == "421 4.3.0 \(name) Server shutting down\r\n")
        #expect(outcome.1)
        #expect(outcome.2, "nothing listens after stop")
        #expect(server.sessionCount == 0)
        server.stop()  // idempotent
    }

    @Test(.testServer(config: nil)) func catchAllWritesTheMaildirAndReportsTheFiles() async throws {
        let server = try TraitServer.current()
        try await blocking { [port = server.port] in
            try Self.send(
                port: port, subject: "files", recipients: ["a@b.example", "c@d.example"])
        }
        let message = try await server.server.nextMessage(timeout: 5)
        #expect(message.files.count == 2, "one file per recipient")
        let stored = maildirFiles(server.maildir)
        #expect(
            Set(stored.map { URL(fileURLWithPath: $0).lastPathComponent })
                == Set(message.files.map { URL(fileURLWithPath: $0).lastPathComponent }))
        let texts = stored.map(readText)
        #expect(texts.contains { $0.hasPrefix("Delivered-To: a@b.example\n") })
        #expect(texts.contains { $0.hasPrefix("Delivered-To: c@d.example\n") })
        // Two recipients: no `for` clause (reference §7.3).
        #expect(texts.allSatisfy { !$0.contains("\tfor <") })
    }
}
