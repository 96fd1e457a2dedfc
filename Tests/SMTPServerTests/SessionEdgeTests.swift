import Foundation
import Glibc
import Synchronization
import Testing

/// Transport edge cases: input split anywhere, a whole pipelined session followed by a
/// half-close, a connect burst, the error limit, a timeout inside DATA.
@Suite struct SessionEdgeTests {
    static let dialogue =
        "HELO defaultNS\r\nMAIL FROM: abgelaescht@ausgebuefft\r\nMAIL FROM: <abgelaescht@ausgebuefft>\r\n"
        + "RCPT TO: <osdrefuser@localhost>\r\nDATA\r\n"
        + "Subject: test\r\n\r\nfirst body line\r\nsecond body line\r\n.\r\nQUIT\r\n"

    static let expectedReplies = [
        "220 vm ESMTP MailLab\r\n",
        "250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n",
        "553 5.1.0 Sender address syntax error\r\n",
        "250 2.0.0 Ok\r\n",
        "250 2.1.5 Destination address valid: Recipient ok\r\n",
        "354 Enter mail, end with \".\" on a line by itself\r\n",
        "250 2.0.0 <id> Message accepted for delivery",
        "221 2.0.0 Bye\r\n",
    ]

    /// Reads lines until the server closes.
    static func readAll(_ client: LineClient) throws -> [String] {
        var lines: [String] = []
        while let line = try client.readLine() { lines.append(line) }
        return lines
    }

    static func matches(_ replies: [String]) -> Bool {
        replies.count == expectedReplies.count
            && zip(replies, expectedReplies).allSatisfy { got, expected in
                expected.hasSuffix("\r\n")
                    ? got == expected : lineMatches(got, expected)
            }
    }

    @Test(.testServer()) func oneByteAtATimeGivesTheSameReplies() async throws {
        let server = try TraitServer.current()
        let replies = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            var one: Int32 = 1
            setsockopt(
                client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one,
                socklen_t(MemoryLayout<Int32>.size))
            var replies = [try client.readLine() ?? "(closed)"]
            // Split on LF bytes ("\r\n" is one Character to String).
            let lines = Self.dialogue.utf8.split(separator: 0x0A).map { Array($0) + [0x0A] }
            #expect(lines.count == 11)
            for (index, line) in lines.enumerated() {
                for byte in line { try client.send(bytes: [byte]) }
                // The header and body lines (5...8) get no reply of their own.
                if !(5...8).contains(index) {
                    replies.append(try client.readLine() ?? "(closed)")
                }
            }
            return replies + (try Self.readAll(client))
        }
        #expect(Self.matches(replies), "\(replies)")
        let message = try await server.server.nextMessage(timeout: 5)
        #expect(message.text.contains("\n\nfirst body line\nsecond body line\n"))
    }

    @Test(.testServer()) func aWholePipelinedSessionThenHalfCloseIsAnsweredInFull() async throws {
        let server = try TraitServer.current()
        let replies = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            try client.send(Self.dialogue)
            client.shutdownWrite()
            return try Self.readAll(client)
        }
        #expect(Self.matches(replies), "\(replies)")
        let message = try await server.server.nextMessage(timeout: 5)
        #expect(message.text.contains("\n\nfirst body line\nsecond body line\n"))
    }

    @Test(.testServer(config: nil, configure: { $0.loops = 2 }))
    func aBurstOf200ConnectionsAllGetBanners() async throws {
        let server = try TraitServer.current()
        let banners = Mutex<[String]>([])
        let port = server.port
        try await blocking {
            let clients = try (0..<200).map { _ in try LineClient(port: port) }
            for client in clients {
                let line = ((try? client.readLine()) ?? nil) ?? "(none)"
                banners.withLock { $0.append(line) }
            }
        }
        let seen = banners.withLock { $0 }
        #expect(seen.count == 200)
        #expect(seen.allSatisfy { $0 == "220 vm ESMTP MailLab\r\n" }, "\(Set(seen))")
    }

    @Test(.testServer()) func tooManyErrorsEndTheSession() async throws {
        let server = try TraitServer.current()
        let lines = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            try client.send(String(repeating: "FOO\r\n", count: 120))
            return try Self.readAll(client)
        }
        #expect(lines.count == 101, "100 errors, then the notice")
        #expect(
            lines.prefix(100).allSatisfy {
                $0 == "500 5.5.1 Invalid command: Command unrecognized\r\n"
            })
        #expect(lines.last == "421 4.7.0 vm Too many errors, closing connection\r\n")
    }

    @Test(.testServer(configure: { $0.idleTimeoutSeconds = 1 }))
    func idleInsideDataTimesOutWithoutDelivery() async throws {
        let server = try TraitServer.current()
        let lines = try await blocking { [port = server.port] in
            let client = try LineClient(port: port)
            _ = try client.readReply()
            for command in [
                "HELO defaultNS", "MAIL FROM:<a@b.example>", "RCPT TO:<osdrefuser@localhost>",
                "DATA",
            ] {
                _ = try client.command(command)
            }
            try client.send("Subject: stalled\r\n\r\nhalf a body\r\n")
            return try Self.readAll(client)
        }
        #expect(lines == ["421 4.4.2 vm Timeout exceeded, closing connection\r\n"])
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(server.server.messages.isEmpty)
        #expect(maildirFiles(server.maildir).isEmpty)
    }

    /// Closes with RST (SO_LINGER 0) instead of FIN.
    static func reset(_ client: LineClient) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(
            client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    @Test(.testServer()) func abruptClientsLeaveNoSessionBehind() async throws {
        let server = try TraitServer.current()
        try await blocking { [port = server.port] in
            for index in 0..<60 {
                let client = try LineClient(port: port)
                switch index % 3 {
                case 0:
                    break  // connect, close at once
                case 1:
                    // A whole pipelined message, then reset without reading a reply.
                    try client.send(
                        "HELO r\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<osdrefuser@localhost>\r\nDATA\r\n"
                            + "Subject: reset \(index)\r\n\r\nbody\r\n.\r\n")
                default:
                    _ = try client.readReply()
                    try client.send("HELO r\r\nMAIL FROM:<a@b.example>\r\n")
                }
                Self.reset(client)
            }
        }
        let deadline = Date().addingTimeInterval(5)
        while server.server.sessionCount > 0 && Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(server.server.sessionCount == 0)
        // Whatever was delivered is whole; the server still serves.
        for file in maildirFiles(server.maildir) {
            #expect(readText(file).hasSuffix("\n\nbody\n"))
        }
        let replies = try await blocking { [port = server.port] in
            try GoldenDialogueTests.runDialogue(port: port, recipient: "osdrefuser@localhost")
        }
        #expect(replies.last == "221 2.0.0 Bye\r\n")
    }
}
