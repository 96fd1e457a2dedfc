import Foundation
import Glibc
import MailLabTestSupport
import SMTPServer
import Testing

/// Postfix on both sides of the real smtpd, on loopback: a private Postfix
/// (`PostfixInstance`) relaying to us (`relayhost` = our smtpd) with and without CHUNKING,
/// with 8BITMIME + SMTPUTF8, and with SASL over STARTTLS against `listen … auth <table>`;
/// and our relay handing mail to Postfix as its next hop. Our side's `-T smtp` trace is the
/// observer of what Postfix sent.
@Suite(.enabled(if: isRoot, "Postfix's master runs as root"), .requires(.smtpd, .postfix))
final class PostfixInteropTests {
    let directory: TempDir

    init() throws { directory = try TempDir("postfix") }
    deinit { directory.remove() }

    /// Our smtpd on loopback delivering `us.lab` (and UTF-8 names in it) into `Maildir`.
    private func ourServer(listen: String = "", extra: String = "") throws -> SmtpdProcess {
        try SmtpdProcess(
            config: """
                \(extra)
                listen on 127.0.0.1 port @PORT@ hostname us.lab \(listen)
                action "local" maildir "\(directory.path)/Maildir" user root
                match from any for domain "us.lab" action "local"

                """, directory: directory)
    }

    /// A Postfix without a listener whose every message goes to our smtpd.
    private func postfixClient(to server: SmtpdProcess, settings: [String] = []) throws
        -> PostfixInstance
    {
        try PostfixInstance(
            in: directory, name: "pf-client", hostname: "pf-client.lab",
            settings: [
                "relayhost = [127.0.0.1]:\(server.port)",
                "default_transport = smtp",
                "relay_transport = relay",
            ] + settings)
    }

    private func onlyMessage(_ maildir: String, timeout: Double = 30) throws -> String {
        let files = waitForFiles(maildir, count: 1, timeout: timeout)
        try #require(files.count == 1, "\(files)")
        return readText(files[0])
    }

    @Test(
        "Postfix relaying to us: delivered with CHUNKING offered and with no-chunking",
        arguments: [false, true])
    func postfixRelaysToUs(chunkingOff: Bool) throws {
        let server = try ourServer(listen: chunkingOff ? "no-chunking" : "")
        defer { server.stop() }
        let postfix = try postfixClient(to: server)
        defer { postfix.stop() }
        try postfix.start()
        try postfix.sendmail(
            from: "alice@pf-client.lab", to: ["bob@us.lab"],
            message: "From: alice@pf-client.lab\nTo: bob@us.lab\nSubject: from postfix\n\nhello\n")
        let text = try onlyMessage(directory.path + "/Maildir")
        #expect(text.contains("by us.lab (MailLab) with ESMTP id "), "\(text)")
        #expect(text.contains("Received: by pf-client.lab (Postfix"), "\(text)")
        #expect(text.hasSuffix("\nhello\n"))
        #expect(postfix.waitForLog("status=sent (250 2.0.0 ", timeout: 10), "\(postfix.log)")
        let trace = server.log
        #expect(trace.contains(">>> 250-CHUNKING") == !chunkingOff, "\(trace)")
        // Postfix 3.7's smtp(8) has no BDAT client (BDAT_README: server side only), so it
        // sends DATA even when CHUNKING is offered; BDAT from a real client is tested with
        // Perl's Net::SMTP (NetSMTPChunkingTests).
        #expect(trace.contains("<<< DATA"), "\(trace)")
        #expect(!trace.contains("<<< BDAT"), "\(trace)")
    }

    @Test("Postfix relaying an 8-bit message to a UTF-8 address: BODY=8BITMIME SMTPUTF8")
    func postfixSendsEightBitAndSMTPUTF8() throws {
        let server = try ourServer()
        defer { server.stop() }
        let postfix = try postfixClient(to: server)
        defer { postfix.stop() }
        try postfix.start()
        try postfix.sendmail(
            from: "alice@pf-client.lab", to: ["jürgen@us.lab"],
            message: """
                From: alice@pf-client.lab
                To: jürgen@us.lab
                Subject: Grüße
                Content-Type: text/plain; charset=utf-8
                Content-Transfer-Encoding: 8bit

                Grüße aus Köln

                """, options: ["-B", "8BITMIME"])
        let text = try onlyMessage(directory.path + "/Maildir")
        #expect(text.contains("Delivered-To: jürgen@us.lab\n"), "\(text)")
        #expect(text.contains("by us.lab (MailLab) with UTF8SMTP id "), "\(text)")
        #expect(text.hasSuffix("\n\nGrüße aus Köln\n"), "\(text)")
        #expect(
            server.log.contains("<<< MAIL FROM:<alice@pf-client.lab> SIZE="), "\(server.log)")
        #expect(server.log.contains(" BODY=8BITMIME SMTPUTF8\n"), "\(server.log)")
    }

    /// Our STARTTLS listener requiring AUTH from a table of crypt(3) hashes, and a Postfix
    /// client with SASL over a required TLS session, PLAIN or LOGIN.
    private func authenticating(mechanism: String, password: String) throws -> (
        SmtpdProcess, PostfixInstance
    ) {
        let files = try TestCertificate.make()
        let hash = try PasswordHash.make("alice-secret", method: .sha512)
        let table = try directory.write("credentials", "alice \(hash)\n")
        let server = try SmtpdProcess(
            config: """
                table creds "\(table)"
                pki vm cert "\(files.certificate)"
                pki vm key "\(files.key)"
                listen on 127.0.0.1 port @PORT@ tls pki vm auth <creds> hostname us.lab
                action "local" maildir "\(directory.path)/Maildir" user root
                match from auth for any action "local"

                """, directory: directory)
        do {
            let postfix = try postfixClient(to: server)
            let map = try postfix.writeMap(
                "sasl_passwd", ["[127.0.0.1]:\(server.port) alice:\(password)"])
            try postfix.appendSettings([
                "smtp_tls_security_level = encrypt",
                "smtp_sasl_auth_enable = yes",
                "smtp_sasl_password_maps = \(map)",
                "smtp_sasl_security_options = noanonymous",
                "smtp_sasl_tls_security_options = noanonymous",
                "smtp_sasl_mechanism_filter = \(mechanism)",
            ])
            return (server, postfix)
        } catch {
            server.stop()
            throw error
        }
    }

    @Test(
        "Postfix with SASL over STARTTLS against listen … auth <table>: delivered, ESMTPSA",
        .requires(.openssl, .saslModules), arguments: ["plain", "login"])
    func postfixAuthenticates(mechanism: String) throws {
        let (server, postfix) = try authenticating(mechanism: mechanism, password: "alice-secret")
        defer { server.stop() }
        defer { postfix.stop() }
        try postfix.start()
        try postfix.sendmail(
            from: "alice@pf-client.lab", to: ["someone@elsewhere.example"],
            message: "Subject: authenticated\n\nvia \(mechanism)\n")
        let text = try onlyMessage(directory.path + "/Maildir")
        #expect(text.contains(") with ESMTPSA id "), "\(text)")
        #expect(text.hasSuffix("\nvia \(mechanism)\n"))
        #expect(server.log.contains("<<< AUTH \(mechanism.uppercased())"), "\(server.log)")
        #expect(server.log.contains("smtp authentication user=alice result=ok"), "\(server.log)")
    }

    @Test(
        "Postfix with a wrong SASL password defers, with OpenSMTPD's 535 in its log and queue",
        .requires(.openssl, .saslModules))
    func postfixWithAWrongPasswordDefers() throws {
        let (server, postfix) = try authenticating(mechanism: "plain", password: "wrong")
        defer { server.stop() }
        defer { postfix.stop() }
        try postfix.start()
        try postfix.sendmail(
            from: "alice@pf-client.lab", to: ["someone@elsewhere.example"],
            message: "Subject: refused\n\nnever stored\n")
        #expect(
            postfix.waitForLog(
                "SASL authentication failed; server 127.0.0.1[127.0.0.1] said: "
                    + "535 Authentication failed", timeout: 30), "\(postfix.log)")
        #expect(postfix.waitForLog("status=deferred", timeout: 10), "\(postfix.log)")
        // The queue file takes the reason once the message is no longer active (`*`): a
        // loaded machine may still show it in flight right after the log line.
        var queue = try runUnblocked("/usr/sbin/postqueue", ["-c", postfix.configDirectory, "-p"])
        let deadline = Date().addingTimeInterval(20)
        while !queue.output.contains("535 Authentication failed") && Date() < deadline {
            usleep(250_000)
            queue = try runUnblocked("/usr/sbin/postqueue", ["-c", postfix.configDirectory, "-p"])
        }
        #expect(queue.output.contains("535 Authentication failed"), "\(queue.output)")
        #expect(server.log.contains("smtp authentication user=alice result=permfail"))
        #expect(maildirFiles(directory.path + "/Maildir").isEmpty)
    }

    /// Postfix listening on loopback with virtual Maildirs for bob@ and jürgen@pf.lab, and
    /// our smtpd relaying pf.lab to it through its queue in `directory/spool`.
    /// `scheme`: the relay URL's; `tls`: Postfix offers STARTTLS with the test certificate.
    private func ourRelayToPostfix(
        extra: String = "", scheme: String = "smtp", tls: Bool = false
    ) throws -> (PostfixInstance, SmtpdProcess) {
        let postfixPort = try freePort()
        let postfix = try PostfixInstance(
            in: directory, name: "pf-next", hostname: "pf.lab",
            listen: ("127.0.0.1", postfixPort), settings: [])
        let mailboxes = try postfix.writeMap(
            "vmailbox", ["bob@pf.lab bob/", "jürgen@pf.lab juergen/"])
        try postfix.appendSettings([
            "virtual_mailbox_domains = pf.lab", "virtual_mailbox_maps = \(mailboxes)",
        ])
        if tls {
            let files = try TestCertificate.make()
            try postfix.appendSettings([
                "smtpd_tls_security_level = may", "smtpd_tls_cert_file = \(files.certificate)",
                "smtpd_tls_key_file = \(files.key)", "smtpd_tls_loglevel = 1",
                "smtpd_tls_received_header = yes",
            ])
        }
        try postfix.start()
        do {
            let server = try SmtpdProcess(
                config: """
                    queue directory "\(directory.path)/spool"
                    queue retry 1s 2s
                    listen on 127.0.0.1 port @PORT@ hostname us.lab
                    action "to-postfix" relay host "\(scheme)://127.0.0.1:\(postfixPort)"
                    match from any for domain "pf.lab" action "to-postfix"
                    \(extra)

                    """, directory: directory)
            return (postfix, server)
        } catch {
            postfix.stop()
            throw error
        }
    }

    @Test("our relay hands mail to Postfix as the next hop: in Postfix's Maildir, spool empty")
    func ourRelayDeliversToPostfix() throws {
        let (postfix, server) = try ourRelayToPostfix()
        defer { postfix.stop() }
        defer { server.stop() }
        let spool = directory.path + "/spool"
        let client = try LineClient(port: server.port, timeout: 20)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        #expect(try client.command("MAIL FROM:<alice@client.example>").hasPrefix("250"))
        #expect(try client.command("RCPT TO:<bob@pf.lab>").hasPrefix("250"))
        #expect(try client.command("DATA").hasPrefix("354"))
        let reply = try client.command("Subject: to postfix\r\n\r\nrelayed\r\n.")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        _ = try? client.command("QUIT")
        let text = try onlyMessage(postfix.mailboxBase + "/bob", timeout: 30)
        #expect(text.contains("by pf.lab (Postfix) with ESMTP id "), "\(text)")
        #expect(text.contains("by us.lab (MailLab) with ESMTP id "), "\(text)")
        #expect(text.contains("Subject: to postfix\n") && text.hasSuffix("\nrelayed\n"))
        #expect(
            postfix.waitForLog("status=sent (delivered to maildir)", timeout: 10),
            "\(postfix.log)")
        #expect(waitForEmptySpool(spool, timeout: 10), "\(server.log)")
    }

    @Test("our relay hands an 8-bit message for a UTF-8 address to Postfix: SMTPUTF8, intact")
    func ourRelayPassesSMTPUTF8ToPostfix() throws {
        let (postfix, server) = try ourRelayToPostfix()
        defer { postfix.stop() }
        defer { server.stop() }
        let client = try LineClient(port: server.port, timeout: 20)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        let mail = try client.command("MAIL FROM:<alice@client.example> BODY=8BITMIME SMTPUTF8")
        #expect(mail.hasPrefix("250"), "\(mail)")
        #expect(try client.command("RCPT TO:<jürgen@pf.lab>").hasPrefix("250"))
        #expect(try client.command("DATA").hasPrefix("354"))
        let reply = try client.command(
            "Subject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n.")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        _ = try? client.command("QUIT")
        let text = try onlyMessage(postfix.mailboxBase + "/juergen", timeout: 30)
        #expect(text.contains("by pf.lab (Postfix) with UTF8SMTP id "), "\(text)")
        #expect(text.contains("for <jürgen@pf.lab>"), "\(text)")
        #expect(text.hasSuffix("\n\nGrüße aus Köln\n"), "\(text)")
        #expect(postfix.waitForLog("to=<jürgen@pf.lab>", timeout: 10), "\(postfix.log)")
        #expect(waitForEmptySpool(directory.path + "/spool", timeout: 10), "\(server.log)")
    }

    @Test("a private Postfix stops cleanly: no process of the master's tree is left")
    func postfixStopsCleanly() throws {
        let port = try freePort()
        let postfix = try PostfixInstance(
            in: directory, name: "pf-stop", hostname: "pf.lab", listen: ("127.0.0.1", port))
        defer { postfix.stop() }
        try postfix.start()
        let master = postfix.masterPID
        let tree = processTree(master)
        #expect(tree.count >= 3, "master, pickup, qmgr: \(tree)")
        // The master is this instance's: postfix(1) hands it the directory as MAIL_CONFIG.
        #expect(
            readText("/proc/\(master)/environ").contains("MAIL_CONFIG=\(postfix.configDirectory)\0")
        )
        postfix.stop()
        #expect(!tree.contains(where: isAlive), "\(tree.filter(isAlive))")
        #expect((try? LineClient(port: port, timeout: 1)) == nil)
    }

    @Test("smtp-source → our relay → smtp-sink, 20 sessions: every message reaches the sink")
    func ourRelayLosesNothingOnTheWayToSmtpSink() throws {
        let sinkPort = try freePort()
        let sinkLog = directory.path + "/sink.out"
        _ = FileManager.default.createFile(atPath: sinkLog, contents: nil)
        // -c: running counters on stdout, `mesg=N` after each final dot.
        let sink = try ChildProcess(
            "/usr/sbin/smtp-sink", ["-c", "-u", "nobody", "127.0.0.1:\(sinkPort)", "64"],
            output: .file(sinkLog))
        defer { sink.kill() }
        let spool = directory.path + "/spool"
        let server = try SmtpdProcess(
            config: """
                queue directory "\(spool)"
                queue retry 1s 2s
                listen on 127.0.0.1 port @PORT@ hostname us.lab
                action "sink" relay host "smtp://127.0.0.1:\(sinkPort)"
                match from any for any action "sink"

                """, directory: directory)
        defer { server.stop() }
        let sent = 100
        let source = try runTool(
            "/usr/sbin/smtp-source",
            [
                "-s", "20", "-m", "\(sent)", "-l", "2000", "-f", "a@client.example", "-t",
                "b@sink.example", "127.0.0.1:\(server.port)",
            ])
        #expect(source.status == 0 && source.errors.isEmpty, "\(source.errors)")
        func seen() -> Int {
            let counters = readText(sinkLog).split(separator: "\r").last ?? ""
            return Int(counters.split(separator: "mesg=").last ?? "") ?? 0
        }
        let deadline = Date().addingTimeInterval(30)
        while seen() < sent && Date() < deadline { usleep(50_000) }
        #expect(seen() == sent, "sink saw \(seen()) of \(sent): \(server.log.suffix(2000))")
        #expect(waitForEmptySpool(spool, timeout: 10))
    }

    @Test("Postfix refuses an unknown user with 550 5.1.1: our relay bounces it to the sender")
    func postfixRefusalBouncesToTheSender() throws {
        let box = directory.path + "/Maildir"
        let (postfix, server) = try ourRelayToPostfix(
            extra: """
                action "local" maildir "\(box)" user root
                match from any for domain "us.lab" action "local"
                """)
        defer { postfix.stop() }
        defer { server.stop() }
        let client = try LineClient(port: server.port, timeout: 20)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        #expect(try client.command("MAIL FROM:<alice@us.lab>").hasPrefix("250"))
        #expect(try client.command("RCPT TO:<nobody@pf.lab>").hasPrefix("250"))
        #expect(try client.command("DATA").hasPrefix("354"))
        let reply = try client.command("Subject: to nobody\r\n\r\nbounce me\r\n.")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        _ = try? client.command("QUIT")
        let dsn = try onlyMessage(box, timeout: 30)
        #expect(dsn.contains("Delivered-To: alice@us.lab\n"), "\(dsn)")
        #expect(dsn.contains("Final-Recipient: rfc822; nobody@pf.lab\n"), "\(dsn)")
        #expect(dsn.contains("Action: failed\n") && dsn.contains("Status: 5.1.1\n"), "\(dsn)")
        #expect(dsn.contains("Diagnostic-Code: smtp; 550 5.1.1 <nobody@pf.lab>"), "\(dsn)")
        #expect(dsn.contains("Subject: to nobody\n"))
        #expect(
            postfix.waitForLog("NOQUEUE: reject: RCPT from ", timeout: 10), "\(postfix.log)")
        #expect(maildirFiles(postfix.mailboxBase + "/bob").isEmpty)
        #expect(waitForEmptySpool(directory.path + "/spool", timeout: 10), "\(server.log)")
    }

    @Test(
        "our relay uses Postfix's STARTTLS: smtp:// when offered, smtp+tls:// required; ESMTPS",
        .requires(.openssl), arguments: ["smtp", "smtp+tls"])
    func ourRelayUsesPostfixsSTARTTLS(scheme: String) throws {
        let (postfix, server) = try ourRelayToPostfix(scheme: scheme, tls: true)
        defer { postfix.stop() }
        defer { server.stop() }
        let client = try LineClient(port: server.port, timeout: 20)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        #expect(try client.command("MAIL FROM:<alice@client.example>").hasPrefix("250"))
        #expect(try client.command("RCPT TO:<bob@pf.lab>").hasPrefix("250"))
        #expect(try client.command("DATA").hasPrefix("354"))
        let reply = try client.command("Subject: over TLS\r\n\r\nencrypted hop\r\n.")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        _ = try? client.command("QUIT")
        let text = try onlyMessage(postfix.mailboxBase + "/bob", timeout: 30)
        #expect(text.contains("(using TLSv1."), "\(text)")
        #expect(text.contains("by pf.lab (Postfix) with ESMTPS id "), "\(text)")
        #expect(
            postfix.waitForLog("TLS connection established from ", timeout: 10),
            "\(postfix.log)")
        #expect(waitForEmptySpool(directory.path + "/spool", timeout: 10), "\(server.log)")
    }
}
