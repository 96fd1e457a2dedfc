import Foundation
import Glibc
import MailLabTestSupport
import Testing

@testable import SMTPServer

/// `smtp timeout command|data|session`: a client that drips bytes cannot keep its session;
/// each deadline ends it with `421 4.4.2` and nothing stored. The idle timeout (300 s here)
/// never comes into it.
@Suite struct SlowClientTests {
    static func config(_ settings: String) -> String {
        settings + "\n" + localDeliveryConfig
    }

    static let timeoutReply = "421 4.4.2 vm Timeout exceeded, closing connection"

    /// Sends `chunks` one every `interval` s until the server answers or closes; the time
    /// from the first chunk to the answer, and the answer.
    func drip(_ client: LineClient, _ chunks: [String], every interval: Double) throws -> (
        seconds: Double, reply: String
    ) {
        let start = Date()
        client.setTimeout(interval)
        for chunk in chunks {
            try? client.send(chunk)
            if let line = try? client.readLine() {
                return (Date().timeIntervalSince(start), line.trimmingCharacters(in: .newlines))
            }
        }
        return (Date().timeIntervalSince(start), "")
    }

    @Test(.testServer(config: Self.config("smtp timeout command 2s")))
    func aCommandLineDrippedAByteAtATimeEndsIn421() throws {
        let server = try TraitServer.current()
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        let bytes = Array(repeating: "NOOP NOOP NOOP ", count: 20).joined().map(String.init)

        let (seconds, reply) = try drip(client, bytes, every: 0.2)

        #expect(reply == Self.timeoutReply)
        #expect(seconds < 3.0, "took \(seconds) s")
        #expect(client.closesWithin(2))
    }

    @Test(.testServer(config: Self.config("smtp timeout data 2s")))
    func aDataPhaseDrippedALineAtATimeEndsIn421AndStoresNothing() throws {
        let server = try TraitServer.current()
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        _ = try client.command("MAIL FROM:<a@client.example>")
        _ = try client.command("RCPT TO:<root@localhost>")
        #expect(try client.command("DATA").hasPrefix("354 "))
        let lines = ["Subject: slow\r\n", "\r\n"] + Array(repeating: "a line\r\n", count: 40)

        let (seconds, reply) = try drip(client, lines, every: 0.2)

        #expect(reply == Self.timeoutReply)
        #expect(seconds < 3.0, "took \(seconds) s")
        #expect(client.closesWithin(2))
        #expect(maildirFiles(server.maildir).isEmpty)
        // The streamed tmp/ file is removed by the stream writer thread, just after the close.
        #expect(
            eventually(within: 2) { maildirFiles(server.maildir, "tmp").isEmpty },
            "\(maildirFiles(server.maildir, "tmp"))")
    }

    @Test(.testServer(config: Self.config("smtp timeout session 2s")))
    func aSessionKeptBusyEndsAtTheSessionDeadline() throws {
        let server = try TraitServer.current()
        let client = try LineClient(port: server.port)
        let start = Date()
        _ = try client.readReply()

        client.setTimeout(1)
        var last = ""
        while Date().timeIntervalSince(start) < 5 {
            try? client.send("NOOP\r\n")
            guard let line = try? client.readLine() else { break }
            last = line.trimmingCharacters(in: .newlines)
            if !last.hasPrefix("250 ") { break }
            usleep(100_000)
        }
        let seconds = Date().timeIntervalSince(start)

        #expect(last == Self.timeoutReply)
        #expect(seconds >= 2 && seconds < 3.0, "took \(seconds) s")
    }

    /// Within the limits nothing changes: commands and a message with pauses shorter than
    /// the deadlines go through.
    @Test(.testServer(config: Self.config("smtp timeout command 2s\nsmtp timeout data 3s")))
    func aClientWithinTheLimitsIsUnaffected() throws {
        let server = try TraitServer.current()
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        for command in [
            "EHLO client.example", "MAIL FROM:<a@client.example>", "RCPT TO:<root@localhost>",
        ] {
            for byte in command + "\r\n" {
                try client.send(String(byte))
                usleep(20_000)  // each line in well under 2 s
            }
            #expect(try client.readReply().last?.hasPrefix("250") == true)
            usleep(1_500_000)  // idle between lines is not the command timeout
        }
        #expect(try client.command("DATA").hasPrefix("354 "))
        for line in ["Subject: fine\r\n", "\r\n", "body\r\n"] {
            try client.send(line)
            usleep(500_000)
        }
        try client.send(".\r\n")
        #expect(try client.readReply().joined().hasPrefix("250 2.0.0 "))
        #expect(try client.command("QUIT").hasPrefix("221 "))
        #expect(maildirFiles(server.maildir).count == 1)
    }
}
