import Foundation
import SMTPConfig
import Testing

@testable import SMTPServer

/// A PROXY v2 header: PROXY over TCP4 from `client`:`port` (or LOCAL with `local`).
private func proxyHeader(
    client: [UInt8] = [192, 0, 2, 7], port: UInt16 = 50000, local: Bool = false
)
    -> [UInt8]
{
    var bytes: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    bytes += local ? [0x20, 0x00, 0x00, 0x00] : [0x21, 0x11, 0x00, 0x0C]
    if !local { bytes += client + [127, 0, 0, 1, UInt8(port >> 8), UInt8(port & 0xFF), 0, 25] }
    return bytes
}

/// `listen … proxy-v2` (OpenSMTPD's proxy.c): the header comes first, names the client for
/// the session, its `Received:` line and the per-address limit; a bad one closes at once.
@Suite("PROXY protocol v2 listeners")
struct ProxyProtocolTests {
    static let config = """
        smtp limit max-sessions-per-address 1
        listen on 127.0.0.1 proxy-v2
        action "local" maildir "@MAILDIR@"
        match from any for any action "local"
        """

    @Test("the session sees the client the header names: banner after it, Hello and Received")
    func theHeaderNamesTheClient() throws {
        let server = try InProcessServer(config: Self.config)
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        #expect(client.staysSilent(0.3), "no banner before the header")
        // Byte by byte: the banner waits for the whole header.
        for byte in proxyHeader() { try client.send(bytes: [byte]) }
        #expect(try client.readReply() == ["220 vm ESMTP MailLab\r\n"])
        #expect(
            try client.command("EHLO relay.test").hasPrefix("250-vm Hello relay.test [192.0.2.7]"))
        _ = try client.command("MAIL FROM:<a@b.test>")
        _ = try client.command("RCPT TO:<root@vm>")
        _ = try client.command("DATA")
        try client.send("Subject: x\r\n\r\nhi\r\n.\r\n")
        #expect(try client.readReply().first?.hasPrefix("250 ") == true)
        let text = readText(try #require(waitForFiles(server.maildir, count: 1).first))
        #expect(text.contains("Received: from relay.test (<unknown> [192.0.2.7])"), "\(text)")
    }

    @Test("LOCAL (a proxy's health check): the connection's own address stands")
    func localKeepsTheConnectionAddress() throws {
        let server = try InProcessServer(config: Self.config)
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        try client.send(bytes: proxyHeader(local: true) + Array("EHLO x\r\n".utf8))
        _ = try client.readReply()
        #expect(try client.readReply().first?.hasPrefix("250-vm Hello x [127.0.0.1]") == true)
    }

    @Test("no header, or a bad one: closed without a banner, the reason logged")
    func aBadHeaderClosesTheConnection() throws {
        let server = try InProcessServer(config: Self.config)
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        try client.send("EHLO x\r\n")
        #expect(client.closesWithin(2))
        var bad = proxyHeader()
        bad[12] = 0x11
        let other = try LineClient(port: server.port)
        try other.send(bytes: bad)
        #expect(other.closesWithin(2))
        // The log is written from the loop: wait a moment for the second line.
        let wanted = [
            "proxy event=closed address=127.0.0.1 reason=\"protocol error (invalid signature)\"",
            "proxy event=closed address=127.0.0.1 reason=\"protocol error (invalid version)\"",
        ]
        var lines = server.log.lines
        for _ in 0..<100 where !wanted.allSatisfy(lines.contains) {
            usleep(20_000)
            lines = server.log.lines
        }
        #expect(wanted.allSatisfy(lines.contains), "\(lines)")
        // A session slot is given back: a good header is still served.
        let good = try LineClient(port: server.port)
        try good.send(bytes: proxyHeader(client: [192, 0, 2, 9]))
        #expect(try good.readReply() == ["220 vm ESMTP MailLab\r\n"])
    }

    @Test("the per-address limit counts the clients the headers name, not the proxy")
    func perAddressLimitCountsProxiedClients() throws {
        let server = try InProcessServer(config: Self.config)
        defer { server.stop() }
        let first = try LineClient(port: server.port)
        try first.send(bytes: proxyHeader(client: [192, 0, 2, 1]))
        #expect(try first.readReply() == ["220 vm ESMTP MailLab\r\n"])
        let second = try LineClient(port: server.port)
        try second.send(bytes: proxyHeader(client: [192, 0, 2, 2]))
        #expect(try second.readReply() == ["220 vm ESMTP MailLab\r\n"])
        let again = try LineClient(port: server.port)
        try again.send(bytes: proxyHeader(client: [192, 0, 2, 1]))
        #expect(
            try again.readReply() == [
                "421 4.7.0 vm Too many sessions from your address, try again later\r\n"
            ])
        #expect(again.closesWithin(2))
        // The refused one gave its session slot back: only the two admitted ones count.
        var open = server.server.sessionCount
        for _ in 0..<100 where open != 2 {
            usleep(20_000)
            open = server.server.sessionCount
        }
        #expect(open == 2)
        // Its end gives 192.0.2.1 back.
        _ = try first.command("QUIT")
        #expect(first.closesWithin(2))
        var admitted = false
        for _ in 0..<50 where !admitted {
            let later = try LineClient(port: server.port)
            try later.send(bytes: proxyHeader(client: [192, 0, 2, 1]))
            admitted = try later.readReply().first?.hasPrefix("220 ") == true
            if !admitted { usleep(20_000) }
        }
        #expect(admitted)
    }

    @Test("proxy-v2 with smtps is refused by smtpd -n")
    func proxyWithSMTPSIsRefused() throws {
        let text = """
            pki vm cert "/nonexistent.crt" key "/nonexistent.key"
            listen on 127.0.0.1 smtps pki vm proxy-v2
            action "x" maildir "/tmp/never"
            match for any action "x"
            """
        let configuration = try SMTPConfiguration.parse(text, fileName: "t.conf") { _ in "" }
        #expect(
            MailServer.validate(configuration).map(\.description).contains(
                "t.conf:2: listen on 127.0.0.1: proxy-v2 with smtps not supported by MailLab yet"))
    }
}
