import Foundation
import LinuxSystem
import SMTPProtocol
import Testing

@testable import SMTPServer

/// What one read sees once the server has ended the connection: an orderly end (FIN, recv
/// returns 0) or a reset (RST, recv fails with ECONNRESET).
private enum ConnectionEnd: Equatable {
    case fin
    case reset
    case data(String)
    case error(Int32)
}

private func end(of client: LineClient) -> ConnectionEnd {
    client.setTimeout(5)
    var bytes = [UInt8](repeating: 0, count: 512)
    let n = bytes.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
    if n == 0 { return .fin }
    if n > 0 { return .data(String(decoding: bytes[..<n], as: UTF8.self)) }
    return errno == ECONNRESET ? .reset : .error(errno)
}

/// Up to RCPT: EHLO and MAIL answered.
private func openTransaction(_ client: LineClient) throws {
    #expect(try client.readReply().first?.hasPrefix("220 ") == true)
    _ = try client.send("EHLO client.example\r\n")
    #expect(try client.readReply().last == "250 HELP\r\n")
    #expect(try client.command("MAIL FROM:<alice@example.org>") == "250 2.0.0 Ok")
}

private func faultConfig(_ rules: String) -> String {
    localDeliveryConfig + "\nfault seed 1\n" + rules + "\n"
}

@Suite(.requires(.python3))
struct FaultClientTests {
    @Test(
        "a reply rule at RCPT: the client reads exactly the configured 451, nothing is stored",
        .testServer(config: faultConfig("fault at rcpt reply \"451 4.7.1 Try later\"")))
    func replyAtRcpt() async throws {
        let server = try TraitServer.current()
        let client = try LineClient(port: server.port)
        try openTransaction(client)
        #expect(try client.command("RCPT TO:<root@localhost>") == "451 4.7.1 Try later")
        #expect(try client.command("QUIT") == "221 2.0.0 Bye")
        #expect(maildirFiles(server.maildir).isEmpty)
        #expect(
            server.log.lines.contains {
                $0.contains("smtp fault stage=rcpt session=1 rule=1 action=reply code=451")
            })
        #expect(server.log.lines.contains("info: fault injection: 1 rule(s), seed=1"))
    }

    @Test("disconnect fin at RCPT ends with FIN, disconnect rst with a reset (ECONNRESET)")
    func finVersusReset() async throws {
        for (how, expected) in [("fin", ConnectionEnd.fin), ("rst", .reset)] {
            try await withServer(config: faultConfig("fault at rcpt disconnect \(how)")) {
                server in
                let client = try LineClient(port: server.port)
                try openTransaction(client)
                try client.send("RCPT TO:<root@localhost>\r\n")
                #expect(end(of: client) == expected, "disconnect \(how)")
            }
        }
    }

    @Test(
        "a delay at the banner holds the 220 back for the configured time",
        .testServer(config: faultConfig("fault at banner delay 1500ms")))
    func bannerDelay() async throws {
        let server = try TraitServer.current()
        let started = Clock.monotonicNanoseconds()
        let client = try LineClient(port: server.port)
        let banner = try client.readReply()
        let seconds = Double(Clock.monotonicNanoseconds() - started) / 1e9
        #expect(banner == ["220 vm ESMTP MailLab\r\n"])
        #expect(seconds >= 1.45 && seconds < 3, "banner after \(seconds) s")
        #expect(try client.command("EHLO x").hasPrefix("250"))
    }

    @Test(
        "accept-and-drop: the client is told 250, nothing is stored, the log says so",
        .testServer(config: faultConfig("fault at after-data accept-and-drop")))
    func acceptAndDrop() async throws {
        let server = try TraitServer.current()
        let client = try LineClient(port: server.port)
        try openTransaction(client)
        #expect(
            try client.command("RCPT TO:<root@localhost>")
                == "250 2.1.5 Destination address valid: Recipient ok")
        #expect(try client.command("DATA").hasPrefix("354 "))
        let reply = try client.command("Subject: lost\r\n\r\nbody\r\n.")
        #expect(
            reply.hasPrefix("250 2.0.0 ") && reply.hasSuffix(" Message accepted for delivery"))
        #expect(try client.command("QUIT") == "221 2.0.0 Bye")
        // A store written after the reply would show within this second.
        #expect(waitForFiles(server.maildir, count: 1, timeout: 1).isEmpty)
        #expect(
            server.log.lines.contains {
                $0.contains("accept-and-drop") && $0.contains("NOTHING STORED")
            })
    }

    @Test(
        "python smtplib sees the 451 at RCPT and the disconnect after DATA",
        .testServer(
            config: faultConfig(
                """
                fault at rcpt reply "451 4.7.1 Greylisted" for rcpt <root@localhost>
                fault at after-data disconnect
                """)))
    func smtplibObservesFaults() async throws {
        let server = try TraitServer.current()
        let script = """
            import smtplib, sys
            port = int(sys.argv[1])
            s = smtplib.SMTP('127.0.0.1', port, timeout=10)
            try:
                s.sendmail('a@example.org', ['root@localhost'], 'Subject: x\\r\\n\\r\\nbody\\r\\n')
            except smtplib.SMTPRecipientsRefused as e:
                print('refused', e.recipients)
            s.quit()
            s = smtplib.SMTP('127.0.0.1', port, timeout=10)
            try:
                s.sendmail('a@example.org', ['osdrefuser@localhost'], 'Subject: y\\r\\n\\r\\nbody\\r\\n')
                print('sent')
            except smtplib.SMTPServerDisconnected as e:
                print('disconnected')
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(
            result.output
                == "refused {'root@localhost': (451, b'4.7.1 Greylisted')}\ndisconnected\n",
            "\(result.errors)")
        #expect(waitForFiles(server.maildir, count: 1, timeout: 1).isEmpty)
    }

    @Test(
        "the embedding API takes rules, and rules replaced at run time hold from the next session")
    func embeddingAndReplacement() async throws {
        var options = MailServer.Options()
        options.faults = FaultPlan(
            rules: [
                try FaultRule(
                    stage: .helo, action: .reply(try FaultReply(parsing: ["550 5.7.1 Go away"])))
            ],
            seed: 9)
        let log = MemoryLog()
        options.log = log.sink
        let server = try MailServer.inMemory(options: options)
        try server.start()
        defer { server.stop() }
        let first = try LineClient(port: server.port)
        _ = try first.readReply()
        #expect(try first.command("EHLO x") == "550 5.7.1 Go away")
        server.replaceFaults(
            FaultPlan(
                rules: [
                    try FaultRule(
                        stage: .helo, action: .reply(try FaultReply(parsing: ["421 4.3.2 Later"])))
                ],
                seed: 10))
        // The running session keeps its rules; the next one gets the new ones.
        #expect(try first.command("EHLO x") == "550 5.7.1 Go away")
        let second = try LineClient(port: server.port)
        _ = try second.readReply()
        #expect(try second.command("EHLO x") == "421 4.3.2 Later")
        #expect(end(of: second) == .fin)
        server.replaceFaults(nil)
        let third = try LineClient(port: server.port)
        _ = try third.readReply()
        #expect(try third.command("EHLO x").hasPrefix("250-"))
        #expect(log.lines.contains("info: fault injection: 1 rule(s), seed=10"))
    }
}
