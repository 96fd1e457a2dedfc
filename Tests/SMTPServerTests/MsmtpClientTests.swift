import Foundation
import MailLabTestSupport
import SMTPServer
import Testing

/// msmtp (a real submission client) with AUTH PLAIN and LOGIN against the real smtpd, over
/// STARTTLS (`--tls-starttls=on`) and over SMTPS (`--tls-starttls=off`), trusting our test
/// certificate by its fingerprint; a wrong password is refused with OpenSMTPD's 535.
@Suite(.requires(.smtpd, .msmtp, .openssl))
final class MsmtpClientTests {
    let directory: TempDir
    let files: TestCertificate
    let credentials: String
    let fingerprint: String

    init() throws {
        directory = try TempDir("msmtp")
        files = try TestCertificate.make()
        let hash = try PasswordHash.make("alice-secret", method: .bcrypt)
        credentials = try directory.write("credentials", "alice \(hash)\n")
        let printed = try runTool(
            ExternalTool.openssl.path,
            ["x509", "-in", files.certificate, "-noout", "-fingerprint", "-sha256"])
        // "sha256 Fingerprint=AB:CD:…" (the prefix's case differs between versions).
        guard printed.status == 0, let value = printed.output.split(separator: "=").last else {
            throw TestFailure("openssl x509 -fingerprint: \(printed.errors)")
        }
        fingerprint = value.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { directory.remove() }

    private func server(_ mode: String) throws -> SmtpdProcess {
        try SmtpdProcess(
            config: """
                table creds "\(credentials)"
                pki vm cert "\(files.certificate)"
                pki vm key "\(files.key)"
                listen on 127.0.0.1 port @PORT@ \(mode) pki vm auth <creds> hostname vm
                action "authed" maildir "\(directory.path)/authed"
                match from auth for any action "authed"

                """, directory: directory)
    }

    /// msmtp with no configuration file of its own (an empty one: it must not read ~/.msmtprc).
    private func msmtp(port: UInt16, starttls: Bool, method: String, password: String) throws
        -> (status: Int32, output: String, errors: String)
    {
        let configuration = try directory.write("msmtprc", "")
        chmod(configuration, 0o600)
        return try runTool(
            ExternalTool.msmtp.path,
            [
                "-C", configuration, "--host=127.0.0.1", "--port=\(port)", "--tls=on",
                "--tls-starttls=\(starttls ? "on" : "off")", "--tls-fingerprint=\(fingerprint)",
                "--auth=\(method)", "--user=alice", "--passwordeval=echo '\(password)'",
                "--from=alice@example.com", "root@example.org",
            ], input: "Subject: msmtp \(method)\r\n\r\nfrom msmtp\r\n")
    }

    @Test(
        "msmtp --auth=plain|login over STARTTLS and SMTPS: delivered, Received says ESMTPSA",
        arguments: [("tls", true), ("smtps", false)])
    func authenticatedSubmission(mode: String, starttls: Bool) throws {
        let server = try server(mode)
        defer { server.stop() }
        for method in ["plain", "login"] {
            let result = try msmtp(
                port: server.port, starttls: starttls, method: method, password: "alice-secret")
            #expect(result.status == 0, "\(result.output)\(result.errors)\(server.log)")
        }
        let stored = waitForFiles(directory.path + "/authed", count: 2)
        #expect(stored.count == 2)
        for file in stored {
            #expect(readText(file).contains(") with ESMTPSA id "), "\(readText(file))")
            #expect(readText(file).hasSuffix("\nfrom msmtp\n"))
        }
        let successes =
            server.log.components(
                separatedBy: "smtp authentication user=alice result=ok"
            ).count - 1
        #expect(successes == 2, "\(server.log)")
    }

    @Test("msmtp with a wrong password: refused with 535 Authentication failed, nothing stored")
    func wrongPassword() throws {
        let server = try server("tls")
        defer { server.stop() }
        for method in ["plain", "login"] {
            let result = try msmtp(
                port: server.port, starttls: true, method: method, password: "wrong")
            #expect(result.status != 0)
            #expect(
                result.errors.contains("server message: 535 Authentication failed"),
                "\(result.errors)")
        }
        #expect(server.log.contains("smtp authentication user=alice result=permfail"))
        #expect(maildirFiles(directory.path + "/authed").isEmpty)
    }
}
