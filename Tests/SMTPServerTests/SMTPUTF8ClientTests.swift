import Foundation
import MailLabTesting
import Testing

@testable import SMTPServer

/// Python's smtplib `send_message` with UTF-8 addresses: it uses SMTPUTF8 when offered and
/// refuses to send when it is not; the message lands in the Maildir as sent.
@Suite struct SMTPUTF8ClientTests {
    static let script = """
        import smtplib, sys
        from email.message import EmailMessage
        m = EmailMessage()
        m['From'] = 'Jürgen <jürgen@bücher.example>'
        m['To'] = 'δοκιμή@παράδειγμα.δοκιμή'
        m['Subject'] = 'Grüße'
        m.set_content('Hallo Welt, grüß dich\\n')
        s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
        try:
            s.send_message(m)
            print('sent')
        except smtplib.SMTPNotSupportedError as e:
            print('not supported:', e)
        s.quit()
        """

    @Test(
        "smtplib send_message with a UTF-8 address: SMTPUTF8 used, stored in the Maildir",
        .mailServer(store: .temporaryMaildir))
    func delivered() async throws {
        let server = try #require(MailServer.current)
        let result = try runTool(python, ["-c", Self.script, "\(server.port)"])
        #expect(result.output == "sent\n", "\(result.errors)")
        let message = try await server.nextMessage(timeout: 10)
        #expect(message.sender == "jürgen@bücher.example")
        #expect(message.recipients == ["δοκιμή@παράδειγμα.δοκιμή"])
        let files = message.files
        try #require(files.count == 1)
        let stored = readText(files[0])
        #expect(
            stored.hasPrefix(
                "Return-Path: <jürgen@bücher.example>\nDelivered-To: δοκιμή@παράδειγμα.δοκιμή\n"))
        #expect(stored.contains(") with UTF8SMTP id "))
        #expect(stored.contains("From: Jürgen <jürgen@bücher.example>"))
    }

    @Test(
        "SMTPUTF8 switched off: smtplib does not send, nothing is stored",
        .mailServer(configure: { $0.smtputf8 = false }))
    func switchedOff() async throws {
        let server = try #require(MailServer.current)
        let result = try runTool(python, ["-c", Self.script, "\(server.port)"])
        #expect(result.output.hasPrefix("not supported:"), "\(result.output)\(result.errors)")
        #expect(server.messages.isEmpty)
    }
}
