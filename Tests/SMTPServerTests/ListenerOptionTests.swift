import Foundation
import MailLabTestSupport
import SMTPConfig
import SMTPProtocol
import Testing

@testable import SMTPServer

/// `listen … senders <table> [masquerade]`, `mask-src`, `received-auth` through a real
/// listener, and the options MailLab parses but does not carry out (refused by `smtpd -n`).
@Suite("Listener options: senders, masquerade, mask-src; the ones refused")
struct ListenerOptionTests {
    static let config = """
        table allowed { alice = "alice@example.org, @team.example.org", bob = "bob" }
        listen on 127.0.0.1 auth-optional auth-plaintext auth-accept-any senders <allowed> masquerade mask-src
        action "local" maildir "@MAILDIR@"
        match from any for any action "local"
        """

    @Test("an authenticated user may use only its listed addresses; From: becomes MAIL FROM")
    func sendersAndMasquerade() throws {
        let server = try InProcessServer(config: Self.config)
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("EHLO client.test")
        // "\0alice\0any": auth-accept-any takes every password and records the user.
        #expect(try client.command("AUTH PLAIN AGFsaWNlAGFueQ==").hasPrefix("235 "))
        #expect(try client.command("MAIL FROM:<mallory@example.org>") == "530 Sender rejected")
        #expect(try client.command("MAIL FROM:<alice+news@example.org>").hasPrefix("250 "))
        let rcpt = try client.command("RCPT TO:<root@vm>")
        #expect(rcpt.hasPrefix("250 "), "\(rcpt) \(server.log.lines)")
        #expect(try client.command("DATA").hasPrefix("354 "))
        try client.send("From: Mallory <mallory@example.org>\r\nSubject: hi\r\n\r\nbody\r\n.\r\n")
        #expect(try client.readReply().first?.hasPrefix("250 ") == true)
        _ = try client.command("QUIT")
        let files = waitForFiles(server.maildir, count: 1)
        let text = readText(try #require(files.first))
        #expect(text.contains("From: Mallory <alice+news@example.org>\n"), "\(text)")
        #expect(text.contains("\nReceived: \n\tby vm (MailLab) with ESMTPA id "), "\(text)")
        #expect(!text.contains("127.0.0.1"))
    }

    @Test("a session without AUTH is not held to the senders table")
    func unauthenticatedSessionsAreNotChecked() throws {
        let server = try InProcessServer(config: Self.config)
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("EHLO client.test")
        #expect(try client.command("MAIL FROM:<mallory@example.org>").hasPrefix("250 "))
    }

    @Test(
        "senders entries: user@domain, @domain with wildcards, a bare user, +tags, the catch-all",
        arguments: [
            ("alice@example.org", "alice", "example.org", true),
            ("alice@example.org", "ALICE", "Example.ORG", true),
            ("alice@example.org", "alice+tag", "example.org", true),
            ("alice+tag@example.org", "alice", "example.org", false),
            ("alice+tag@example.org", "alice+tag", "example.org", true),
            ("alice@example.org", "bob", "example.org", false),
            ("@example.org", "anyone", "example.org", true),
            ("@*.example.org", "x", "team.example.org", true),
            ("@*.example.org", "x", "example.com", false),
            ("bob", "bob", "anywhere.test", true),
            ("@", "x", "y.test", true),
            ("@example.org", "", "", false),
        ])
    func entryMatching(entry: String, user: String, domain: String, expected: Bool) {
        #expect(
            SenderTable.matches(entry: entry, user: user, domain: domain, delimiter: "+")
                == expected)
    }

    @Test("hostnames <table>: a session arriving on a listed address is served under its name")
    func hostnamesTableNamesTheBanner() throws {
        let server = try InProcessServer(
            config: """
                table names { 127.0.0.1 = "mx.names.test" }
                listen on 127.0.0.1 hostnames <names>
                listen on 127.0.0.2 hostnames <names>
                action "local" maildir "@MAILDIR@"
                match from any for any action "local"
                """)
        defer { server.stop() }
        let ports = server.server.addresses.map(\.port)
        let listed = try LineClient(host: "127.0.0.1", port: ports[0])
        let banner = try listed.readReply()
        #expect(banner == ["220 mx.names.test ESMTP MailLab\r\n"], "\(banner)")
        #expect(try listed.command("HELO x").hasPrefix("250 mx.names.test Hello x"))
        let unlisted = try LineClient(host: "127.0.0.2", port: ports[1])
        #expect(try unlisted.readReply() == ["220 vm ESMTP MailLab\r\n"])
    }

    @Test("listen … protocols: a client offering only TLS 1.2 fails the handshake, 1.3 passes")
    func listenerProtocolsBoundTheHandshake() throws {
        let files = try TestCertificate.make()
        let server = try InProcessServer(
            config: """
                pki vm cert "\(files.certificate)" key "\(files.key)"
                listen on 127.0.0.1 tls pki vm protocols "tlsv1.3"
                action "local" maildir "@MAILDIR@"
                match from any for any action "local"
                """)
        defer { server.stop() }
        let script = """
            import smtplib, ssl, sys
            for highest in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                context.maximum_version = highest
                client = smtplib.SMTP("127.0.0.1", \(server.port), timeout=10)
                try:
                    client.starttls(context=context)
                    print(highest.name, "ok", client.sock.version())
                    client.quit()
                except (ssl.SSLError, smtplib.SMTPServerDisconnected) as error:
                    print(highest.name, "refused")
            """
        let result = try runTool(python, ["-c", script])
        #expect(result.output == "TLSv1_2 refused\nTLSv1_3 ok TLSv1.3\n", "\(result)")
    }

    @Test("settings parsed but not carried out are said at start, each by name")
    func settingsNotCarriedOutAreWarned() throws {
        let text = """
            queue compression
            queue encryption
            mta max-deferred 100
            bounce warn-interval 1h, 2h, 3h, 4h, 5h
            admd "example.org"
            filter "f" proc-exec "/bin/cat"
            listen on 127.0.0.1 filter "f"
            action "x" maildir "/tmp/never"
            match for any action "x"
            """
        let configuration = try SMTPConfiguration.parse(text, fileName: "t.conf") { _ in "" }
        #expect(
            ServerPlan.settingsNotCarriedOut(configuration) == [
                "queue compression", "queue encryption (the spool is not encrypted)",
                "bounce warn-interval beyond its fourth duration", "admd",
                "listen on 127.0.0.1 filter \"f\" (no filters run)",
            ])
        let log = MemoryLog()
        var options = MailServer.Options()
        options.log = log.sink
        #expect(MailServer.validate(configuration, options: options).isEmpty)
        #expect(
            log.lines.contains(
                "warn: queue encryption (the spool is not encrypted) is accepted but not carried out by MailLab"
            ))
    }
}
