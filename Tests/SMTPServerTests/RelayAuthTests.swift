import Foundation
import Glibc
import MailLabTestSupport
import SMTPConfig
import SMTPServer
import Testing

/// `relay host "smtp+tls://LABEL@host" auth <secrets>` against a next hop that wants AUTH
/// (crypt(3) hashes as `smtpctl encrypt` writes them), on loopback: the right secret
/// delivers with `ESMTPSA` in the next hop's Received line, a wrong one keeps the mail queued
/// with the next hop's 535 as its last error; what cannot work is refused by `smtpd -n`.
@Suite struct RelayAuthTests {
    static func nextHop(password: String) throws -> InProcessServer {
        let files = try TestCertificate.make()
        let hash = try PasswordHash.make(password, method: .sha512)
        return try InProcessServer {
            $0.tls = MailServer.TLSSetting(
                certificate: files.certificate, key: files.key, mode: .starttls)
            $0.authentication = MailServer.AuthenticationSetting(
                offer: .required, withoutTLS: false,
                checker: CredentialTable(hashes: ["blau": hash]))
            $0.authFailureDelaySeconds = 0
        }
    }

    static func relay(to port: UInt16, secret: String, options: String = "") throws
        -> InProcessServer
    {
        try InProcessServer(
            config: """
                queue directory "@MAILDIR@.spool"
                queue retry 1s 2s
                table secrets { "rot" = "\(secret)" }
                listen on 127.0.0.1
                action "out" relay host "smtp+tls://rot@127.0.0.1:\(port)" auth <secrets> \(options)
                match from any for domain "there.lab" action "out"
                """
        ) { $0.relayTimeoutSeconds = 5 }
    }

    @Test func theLabelsSecretAuthenticatesOverStartTLS() async throws {
        let next = try Self.nextHop(password: "s3cret")
        defer { next.stop() }
        let relay = try Self.relay(to: next.port, secret: "blau:s3cret")
        defer { relay.stop() }
        let reply = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "authenticated")
        #expect(reply.hasPrefix("250 "), "\(reply)")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains(") with ESMTPSA id "), "\(message.text)")
        #expect(message.text.contains("Subject: authenticated\n"))
    }

    @Test func srcBindsTheConnectionToTheNextHopToThatAddress() async throws {
        let next = try Self.nextHop(password: "s3cret")
        defer { next.stop() }
        let relay = try Self.relay(to: next.port, secret: "blau:s3cret", options: "src 127.0.0.2")
        defer { relay.stop() }
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "from .2")
        let message = try await next.server.nextMessage(timeout: 10)
        #expect(message.text.contains("[127.0.0.2]"), "\(message.text)")
    }

    @Test func aWrongSecretKeepsTheMailQueuedWithTheNextHopsRefusal() throws {
        let next = try Self.nextHop(password: "s3cret")
        defer { next.stop() }
        let relay = try Self.relay(to: next.port, secret: "blau:wrong")
        defer { relay.stop() }
        let control = try #require(relay.server.queueControl)
        _ = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "refused")
        let deadline = Date().addingTimeInterval(10)
        var error = ""
        while Date() < deadline {
            error = control.queueSnapshot().first?.lastError ?? ""
            if error.contains("535") { break }
            usleep(50_000)
        }
        #expect(error.hasPrefix("421 4.7.0 AUTH refused by next hop: 535 "), "\(error)")
        #expect(control.queueSnapshot().count == 1)
        #expect(next.server.messages.isEmpty)
    }
}

/// `auth` needs a label and TLS, the label must be in the table; `src` must be an address.
@Test func relayAuthAndSourceMistakesAreConfigurationErrors() throws {
    let text = """
        table secrets { "rot" = "blau:s3cret", "bare" = "nocolon" }
        listen on 127.0.0.1
        action "a" relay host "smtp+tls://127.0.0.1" auth <secrets>
        action "b" relay host "smtp://rot@127.0.0.1" auth <secrets>
        action "c" relay host "smtps://other@127.0.0.1" auth <secrets>
        action "d" relay host "smtps://bare@127.0.0.1" auth <secrets>
        action "e" relay host "smtp://127.0.0.1" src "not-an-address"
        action "ok" relay host "smtps://rot@127.0.0.1" auth <secrets> src 127.0.0.1
        match for domain "a.lab" action "a"
        match for domain "b.lab" action "b"
        match for domain "c.lab" action "c"
        match for domain "d.lab" action "d"
        match for domain "e.lab" action "e"
        match for domain "ok.lab" action "ok"
        """
    let configuration = try SMTPConfiguration.parse(text, fileName: "t.conf") { _ in "" }
    let errors = MailServer.validate(configuration).map(\.description)
    #expect(
        errors == [
            "t.conf:3: action \"a\": relay auth needs a label in the host URL (smtp+tls://LABEL@host)",
            "t.conf:4: action \"b\": relay auth needs smtp+tls:// or smtps:// (credentials never go over an unencrypted session)",
            "t.conf:5: action \"c\": relay auth: no \"USER:PASSWORD\" for label \"other\" in the table",
            "t.conf:6: action \"d\": relay auth: no \"USER:PASSWORD\" for label \"bare\" in the table",
            "t.conf:7: action \"e\": relay src: expected an IP address",
        ])
}

/// Two relay actions to one host never share a transaction or a session: the recipient of
/// the `smtp+tls://` action arrives over TLS although the other one of the same message goes
/// in clear (review finding: a shared destination key sent both in one plaintext session).
@Test func twoActionsToOneHostKeepTheirOwnSessions() async throws {
    let next = try RelayAuthTests.tlsOnlyNextHop()
    defer { next.stop() }
    let relay = try InProcessServer(
        config: """
            queue directory "@MAILDIR@.spool"
            queue retry 1s 2s
            listen on 127.0.0.1
            action "plain" relay host "smtp+notls://127.0.0.1:\(next.port)"
            action "secure" relay host "smtp+tls://127.0.0.1:\(next.port)"
            match from any for domain "plain.lab" action "plain"
            match from any for domain "secure.lab" action "secure"
            """
    ) { $0.relayTimeoutSeconds = 5 }
    defer { relay.stop() }
    let reply = try sendMail(
        host: "127.0.0.1", port: relay.port, from: "alice@here.lab",
        to: ["a@plain.lab", "b@secure.lab"], subject: "two routes")
    #expect(reply.hasPrefix("250 "), "\(reply)")
    let first = try await next.server.nextMessage(timeout: 10)
    let second = try await next.server.nextMessage(timeout: 10)
    for message in [first, second] {
        #expect(message.recipients.count == 1, "\(message.recipients)")
        let secured = message.text.contains(") with ESMTPS id ")
        #expect(secured == (message.recipients.first == "b@secure.lab"), "\(message.text)")
    }
}

extension RelayAuthTests {
    /// A next hop offering STARTTLS without asking for AUTH.
    static func tlsOnlyNextHop() throws -> InProcessServer {
        let files = try TestCertificate.make()
        return try InProcessServer {
            $0.tls = MailServer.TLSSetting(
                certificate: files.certificate, key: files.key, mode: .starttls)
        }
    }
}
