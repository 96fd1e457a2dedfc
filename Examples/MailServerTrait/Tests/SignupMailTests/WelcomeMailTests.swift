import MailLabTesting
import SMTPServer
import Signup
import Testing

/// Each test gets its own SMTP server on a free port; nothing to start or stop by hand.
@Suite(.mailServer) struct WelcomeMailTests {
    @Test func theWelcomeMailReachesTheNewUser() async throws {
        let server = try #require(MailServer.current)
        try WelcomeMailer(port: server.port).welcome("ada@users.example", name: "Ada")
        let message = try await server.nextMessage(timeout: 5)
        #expect(message.recipients == ["ada@users.example"])
        #expect(message.sender == "noreply@app.example")
        #expect(message.subject == "Welcome, Ada")
    }

    @Test func twoSignupsGiveTwoMailsInOrder() async throws {
        let server = try #require(MailServer.current)
        let mailer = WelcomeMailer(port: server.port)
        try mailer.welcome("a@users.example", name: "A")
        try mailer.welcome("b@users.example", name: "B")
        let second = try await server.nextMessage(matching: { $0.subject.hasSuffix("B") })
        #expect(second.recipients == ["b@users.example"])
        #expect(server.messages.count == 2)
    }

    @Test(.mailServer(store: .temporaryMaildir)) func theMailIsStoredAsAMaildirFile() async throws {
        let server = try #require(MailServer.current)
        try WelcomeMailer(port: server.port).welcome("c@users.example", name: "C")
        let message = try await server.nextMessage(timeout: 5)
        #expect(message.files.count == 1)
        #expect(message.header("To") == "<c@users.example>")
    }
}
