import Foundation
import MailLabTestSupport
import MailLabTesting
import SMTPConfig
import Testing

@testable import SMTPServer

/// Real TLS clients against an in-process server: Python's smtplib, curl and swaks, over
/// STARTTLS and SMTPS. Every message must arrive marked `ESMTPS` with the TLS parameters.
@Suite(.requires(.openssl))
struct TLSClientTests {
    private static let message = "Subject: tls\r\n\r\nover TLS\r\n"

    private func expectTLSReceived(_ server: MailServer) async throws {
        let delivered = try await server.nextMessage(timeout: 10)
        #expect(delivered.text.contains("with ESMTPS id \(delivered.id) (TLSv1."))
        #expect(delivered.text.contains(":NO)\n\tfor <root@localhost>;"))
        #expect(delivered.text.contains("over TLS"))
    }

    @Test(
        "python smtplib: starttls() then sendmail", .requires(.python3), .tlsMailServer(.starttls))
    func pythonStartTLS() async throws {
        let server = try #require(MailServer.current)
        let script = """
            import smtplib, ssl, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
            s.ehlo()
            assert s.has_extn('starttls'), s.esmtp_features
            s.starttls(context=ssl._create_unverified_context())
            s.ehlo()
            assert not s.has_extn('starttls')
            s.sendmail('a@example.com', ['root@localhost'], sys.stdin.read())
            s.quit()
            print('sent')
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"], input: Self.message)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "sent\n")
        try await expectTLSReceived(server)
    }

    @Test("curl --ssl-reqd smtp:// (STARTTLS)", .requires(.curl), .tlsMailServer(.starttls))
    func curlStartTLS() async throws {
        let server = try #require(MailServer.current)
        let result = try runTool(
            ExternalTool.curl.path,
            [
                "-sS", "--ssl-reqd", "-k", "smtp://127.0.0.1:\(server.port)", "--mail-from",
                "a@example.com", "--mail-rcpt", "root@localhost", "-T", "-",
            ], input: Self.message)
        #expect(result.status == 0, "\(result.errors)")
        try await expectTLSReceived(server)
    }

    @Test("curl smtps:// against an SMTPS listener", .requires(.curl), .tlsMailServer(.smtps))
    func curlSMTPS() async throws {
        let server = try #require(MailServer.current)
        let result = try runTool(
            ExternalTool.curl.path,
            [
                "-sS", "-k", "smtps://127.0.0.1:\(server.port)", "--mail-from", "a@example.com",
                "--mail-rcpt", "root@localhost", "-T", "-",
            ], input: Self.message)
        #expect(result.status == 0, "\(result.errors)")
        try await expectTLSReceived(server)
    }

    @Test(
        "swaks -tls (STARTTLS) and --tls-on-connect (SMTPS)", .requires(.swaks),
        arguments: [TLSMode.starttls, .smtps])
    func swaks(_ mode: TLSMode) async throws {
        let server = try tlsServer(mode)
        defer { server.stop() }
        let flag = mode == .smtps ? "--tls-on-connect" : "-tls"
        let result = try runTool(
            ExternalTool.swaks.path,
            [
                "--server", "127.0.0.1", "--port", "\(server.port)", flag, "--from",
                "a@example.com", "--to", "root@localhost", "--data", Self.message,
                "--helo", "swaks.example",
            ])
        #expect(result.status == 0, "\(result.output)\(result.errors)")
        #expect(result.output.contains("250 2.0.0") && result.output.contains("accepted"))
        try await expectTLSReceived(server)
    }
}
