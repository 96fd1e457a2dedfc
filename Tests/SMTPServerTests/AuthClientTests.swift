import Foundation
import MailLabTestSupport
import SMTPProtocol
import Testing

@testable import SMTPServer

/// AUTH with real clients against the real smtpd: swaks (`--auth PLAIN`/`LOGIN` over
/// STARTTLS), curl (`--user` over smtps://) and python smtplib (`login`). Credentials come
/// from a table of crypt(3) hashes (bcrypt for alice, SHA-512 for bob); a wrong password is
/// refused with OpenSMTPD's `535 Authentication failed`.
@Suite(.requires(.openssl))
final class AuthClientTests {
    let directory: TempDir
    let files: TestCertificate
    let credentials: String

    init() throws {
        directory = try TempDir("auth")
        files = try TestCertificate.make()
        let alice = try PasswordHash.make("alice-secret", method: .bcrypt)
        let bob = try PasswordHash.make("bob secret", method: .sha512)
        #expect(alice.hasPrefix("$2b$") && bob.hasPrefix("$6$"))
        credentials = try directory.write("credentials", "alice \(alice)\nbob \(bob)\n")
    }

    deinit { directory.remove() }

    /// `auth-optional` STARTTLS listener; authenticated clients are routed to `authed`,
    /// everyone else to `local` (and only for local domains).
    private func starttlsServer(listen: String = "tls pki vm auth-optional <creds>") throws
        -> SmtpdProcess
    {
        try SmtpdProcess(
            config: """
                table creds "\(credentials)"
                pki vm cert "\(files.certificate)"
                pki vm key "\(files.key)"
                listen on 127.0.0.1 port @PORT@ \(listen) hostname vm
                action "authed" maildir "\(directory.path)/authed"
                action "local" maildir "\(directory.path)/local"
                match from auth for any action "authed"
                match from any for local action "local"

                """, directory: directory)
    }

    private func swaks(_ port: UInt16, _ arguments: [String]) throws -> (
        status: Int32, output: String, errors: String
    ) {
        try runTool(
            "/usr/bin/swaks",
            [
                "--server", "127.0.0.1", "--port", "\(port)", "--from", "a@example.com",
                "--helo", "swaks.example", "--data", "Subject: auth\r\n\r\nauthenticated\r\n",
            ] + arguments)
    }

    private func onlyFile(_ maildir: String) throws -> String {
        let found = maildirFiles(maildir)
        try #require(found.count == 1, "\(found)")
        return readText(found[0])
    }

    @Test("swaks --auth PLAIN and LOGIN over STARTTLS: delivered, Received says ESMTPSA")
    func swaksPlainAndLogin() throws {
        let server = try starttlsServer()
        defer { server.stop() }
        for (method, user, password) in [
            ("PLAIN", "alice", "alice-secret"), ("LOGIN", "bob", "bob secret"),
        ] {
            let result = try swaks(
                server.port,
                [
                    "--tls", "--auth", method, "--auth-user", user, "--auth-password", password,
                    "--to", "root@example.org",
                ])
            #expect(result.status == 0, "\(result.output)\(result.errors)")
            #expect(result.output.contains("235 2.0.0 Authentication succeeded"))
        }
        let stored = maildirFiles("\(directory.path)/authed")
        #expect(stored.count == 2)
        for file in stored {
            #expect(readText(file).contains(") with ESMTPSA id "), "\(readText(file))")
        }
        #expect(server.log.contains("smtp authentication user=alice result=ok"))
        #expect(server.log.contains("smtp authentication user=bob result=ok"))
    }

    @Test("a wrong password: 535 Authentication failed, logged, nothing stored")
    func wrongPassword() throws {
        let server = try starttlsServer()
        defer { server.stop() }
        let result = try swaks(
            server.port,
            [
                "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong",
                "--to", "root@example.org",
            ])
        #expect(result.status != 0)
        #expect(result.output.contains("* 535 Authentication failed"), "\(result.output)")
        #expect(server.log.contains("smtp authentication user=alice result=permfail"))
        #expect(!server.log.contains("alice-secret") && !server.log.contains("wrong"))
        #expect(maildirFiles("\(directory.path)/authed").isEmpty)
    }

    @Test("match from auth selects the action: without AUTH only local recipients, elsewhere")
    func authSelectsAction() throws {
        let server = try starttlsServer()
        defer { server.stop() }
        let relay = try swaks(server.port, ["--tls", "--to", "root@example.org"])
        #expect(relay.status != 0)
        #expect(relay.output.contains("550 Invalid recipient: <root@example.org>"))
        let local = try swaks(server.port, ["--tls", "--to", "root@localhost"])
        #expect(local.status == 0, "\(local.output)")
        #expect(try onlyFile("\(directory.path)/local").contains(") with ESMTPS id "))
        #expect(maildirFiles("\(directory.path)/authed").isEmpty)
    }

    @Test("AUTH is not offered before STARTTLS: swaks --auth without --tls fails")
    func notBeforeTLS() throws {
        let server = try starttlsServer()
        defer { server.stop() }
        let result = try swaks(
            server.port,
            [
                "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "alice-secret",
                "--to", "root@localhost",
            ])
        #expect(result.status != 0)
        #expect(!result.output.contains("250-AUTH"), "\(result.output)")
    }

    @Test("python smtplib login() over STARTTLS, and a wrong password raises 535")
    func pythonLogin() throws {
        let server = try starttlsServer()
        defer { server.stop() }
        let script = """
            import smtplib, ssl, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
            s.starttls(context=ssl._create_unverified_context())
            try:
                s.login('alice', 'not it')
                print('accepted?')
            except smtplib.SMTPAuthenticationError as e:
                print(e.smtp_code, e.smtp_error.decode())
            s.login('bob', 'bob secret')
            s.sendmail('a@example.com', ['root@example.org'], 'Subject: py\\r\\n\\r\\nfrom python\\r\\n')
            s.quit()
            print('sent')
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "535 Authentication failed\nsent\n")
        #expect(try onlyFile("\(directory.path)/authed").contains("from python"))
    }

    @Test("curl --user over smtps:// on an auth listener; without --user MAIL gets 530")
    func curlSMTPS() throws {
        let server = try starttlsServer(listen: "smtps pki vm auth <creds>")
        defer { server.stop() }
        func curl(_ extra: [String]) throws -> (status: Int32, output: String, errors: String) {
            try runTool(
                "/usr/bin/curl",
                [
                    "-sS", "-v", "-k", "smtps://127.0.0.1:\(server.port)", "--mail-from",
                    "a@example.com", "--mail-rcpt", "root@example.org", "-T", "-",
                ] + extra, input: "Subject: curl\r\n\r\nfrom curl\r\n")
        }
        let ok = try curl(["--user", "alice:alice-secret"])
        #expect(ok.status == 0, "\(ok.errors)")
        #expect(try onlyFile("\(directory.path)/authed").contains(") with ESMTPSA id "))
        let anonymous = try curl([])
        #expect(anonymous.status != 0)
        #expect(
            anonymous.errors.contains(
                "530 5.5.1 Invalid command: Must issue an AUTH command first"),
            "\(anonymous.errors)")
        let wrong = try curl(["--user", "alice:nope"])
        #expect(wrong.status != 0)
        #expect(wrong.errors.contains("535 Authentication failed"), "\(wrong.errors)")
    }
}
