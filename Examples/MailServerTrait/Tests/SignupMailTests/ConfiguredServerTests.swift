import MailLabTesting
import SMTPServer
import Signup
import Testing

/// The server configured by smtpd.conf text, as `smtpd` would be: every mail for
/// users.example goes to one Maildir (`@MAILDIR@`, the test's temporary one, delivered as
/// the system user root), and one recipient is greylisted.
@Suite struct ConfiguredServerTests {
    @Test(
        .mailServer(
            config: """
                listen on 127.0.0.1 port 25
                action "users" maildir "@MAILDIR@" user root
                match from any for domain "users.example" action "users"
                fault at rcpt reply "451 4.7.1 Greylisted, try again" for rcpt <grey@users.example>
                """))
    func aGreylistedRecipientIsReportedAndOthersAreStored() async throws {
        let server = try #require(MailServer.current)
        let maildir = try #require(MailServer.currentMaildir)
        let mailer = WelcomeMailer(port: server.port)
        #expect(throws: WelcomeMailer.Failure.self) {
            try mailer.welcome("grey@users.example", name: "Grey")
        }
        try mailer.welcome("ada@users.example", name: "Ada")
        let message = try await server.nextMessage(timeout: 5)
        #expect(message.recipients == ["ada@users.example"])
        #expect(message.files.count == 1)
        #expect(message.files.allSatisfy { $0.hasPrefix(maildir + "/new/") })
        #expect(server.messages.count == 1)
    }
}
