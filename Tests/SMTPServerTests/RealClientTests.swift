import Foundation
import MailLabTestSupport
import Testing

/// Real SMTP clients deliver to an in-process catch-all server; each message must arrive in
/// the Maildir with its body.
@Suite(.testServer(config: nil)) struct RealClientTests {
    static func token() -> String { "tok\(UInt64.random(in: 0...UInt64.max))" }

    /// With the suite's catch-all server (a fresh one per test), runs `client` (given the
    /// port and a unique token) and checks that exactly one message carrying the token
    /// arrived, both in `messages` and in new/.
    static func deliver(
        _ client: @escaping @Sendable (UInt16, String) throws -> ProgramResult,
        sender: String = "a@b.example", recipient: String = "c@d.example"
    ) async throws {
        let server = try TraitServer.current()
        let token = Self.token()
        let result = try await blocking { [port = server.port] in try client(port, token) }
        #expect(result.status == 0, "client failed: \(result.output)\n\(result.errorOutput)")
        let message = try await server.server.nextMessage(timeout: 5)
        #expect(message.sender == sender)
        #expect(message.recipients == [recipient])
        let files = maildirFiles(server.maildir)
        try #require(files.count == 1, "files in new/: \(files)")
        let stored = readText(files[0])
        #expect(stored.contains("body line with \(token)\n"), "stored:\n\(stored)")
        #expect(stored.contains("Delivered-To: \(recipient)\n"))
        #expect(!stored.contains("\r"))
        #expect(server.server.messages.count == 1)
    }

    @Test(.requires(.python3))
    func pythonSmtplibWithoutPipelining() async throws {
        let script = """
            import smtplib, sys
            port, token = int(sys.argv[1]), sys.argv[2]
            body = "Subject: smtplib\\r\\n\\r\\nbody line with " + token + "\\r\\n"
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                refused = s.sendmail("a@b.example", ["c@d.example"], body)
                assert refused == {}, refused
            """
        try await Self.deliver { port, token in
            try runProgram(ExternalTool.python3.path, ["-c", script, String(port), token])
        }
    }

    @Test(.requires(.python3))
    func pythonWithPipelining() async throws {
        // EHLO through smtplib, then MAIL, RCPT and DATA in one write on its socket, the
        // three replies read afterwards (RFC 2920).
        let script = """
            import smtplib, sys
            port, token = int(sys.argv[1]), sys.argv[2]
            s = smtplib.SMTP("127.0.0.1", port, timeout=10)
            s.ehlo("pipeliner")
            assert "pipelining" in s.esmtp_features, s.esmtp_features
            s.sock.sendall(b"MAIL FROM:<a@b.example>\\r\\nRCPT TO:<c@d.example>\\r\\nDATA\\r\\n")
            for expected in (250, 250, 354):
                code, text = s.getreply()
                assert code == expected, (code, text)
            s.sock.sendall(("Subject: pipelined\\r\\n\\r\\nbody line with " + token + "\\r\\n.\\r\\nQUIT\\r\\n").encode())
            code, text = s.getreply()
            assert code == 250, (code, text)
            code, text = s.getreply()
            assert code == 221, (code, text)
            """
        try await Self.deliver { port, token in
            try runProgram(ExternalTool.python3.path, ["-c", script, String(port), token])
        }
    }

    @Test(.requires(.curl))
    func curlSMTP() async throws {
        try await Self.deliver { port, token in
            let directory = try TempDir("curl")
            defer { directory.remove() }
            let file = try directory.write(
                "mail.txt", "Subject: curl\r\n\r\nbody line with \(token)\r\n")
            return try runProgram(
                ExternalTool.curl.path,
                [
                    "-sS", "--url", "smtp://127.0.0.1:\(port)", "--mail-from", "a@b.example",
                    "--mail-rcpt", "c@d.example", "--upload-file", file,
                ])
        }
    }

    @Test(.requires(.swaks), arguments: [false, true])
    func swaksDelivers(pipelining: Bool) async throws {
        try await Self.deliver { port, token in
            var arguments = [
                "--server", "127.0.0.1", "--port", String(port), "--to", "c@d.example", "--from",
                "a@b.example", "--header", "Subject: swaks", "--body", "body line with \(token)",
                "--timeout", "10",
            ]
            if pipelining { arguments.append("--pipeline") }
            let result = try runProgram(ExternalTool.swaks.path, arguments)
            if pipelining {
                // The three commands went out before the first reply came back.
                #expect(
                    result.output.contains(
                        " -> MAIL FROM:<a@b.example>\n -> RCPT TO:<c@d.example>\n -> DATA\n<-  250 "
                    ),
                    "swaks output:\n\(result.output)")
            }
            return result
        }
    }
}
