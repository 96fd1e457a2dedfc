import SMTPClient
import SMTPProtocol
import Testing

@testable import MailQueue

/// The relay's AUTH (`relay host smtp+tls://LABEL@host auth <secrets>`), bytes in, events
/// out: PLAIN when offered, else LOGIN; only on a secured session; a refusal keeps the mail
/// queued (421), and the same conversation for any split of the replies.
@Suite struct RelayClientAuthTests {
    static let credentials = RelayClientSession.Credentials(user: "blau", password: "s3cret:x")
    static let transaction = RelayClientSession.Transaction(
        sender: .address(MailAddress(localPart: "alice", domain: "gruen.lab")),
        recipients: [MailAddress(localPart: "bob", domain: "rot.lab")],
        content: RelayContent(Array("Subject: x\n\nhi\n".utf8)))

    /// The session runner of `RelayClientSessionTests`, with credentials and STARTTLS
    /// answered.
    static func run(
        _ server: String, chunk: Int = 4096, tls: RelayClientSession.TLSPolicy = .required,
        secured: Bool = false, credentials: RelayClientSession.Credentials? = credentials
    ) -> (sent: String, events: [RelayClientSession.Event]) {
        RelayClientSessionTests.run(
            server, chunk: chunk, tls: tls, transaction: transaction, credentials: credentials,
            secured: secured, answeringStartTLS: true)
    }

    static let plain = Base64.encode(Array("\0blau\0s3cret:x".utf8))
    static let plainServer =
        "220 rot.lab ESMTP\r\n|250-rot.lab\r\n250 STARTTLS\r\n|220 go ahead\r\n"
        + "|250-rot.lab\r\n250 AUTH PLAIN LOGIN\r\n|235 2.0.0 Authentication succeeded\r\n"
        + "|250 2.0.0 Ok\r\n|250 2.1.5 Ok\r\n|354 go\r\n|250 2.0.0 queued\r\n"

    @Test func afterStartTLSTheSecondEhloIsFollowedByAuthPlain() {
        let (sent, events) = Self.run(Self.plainServer)
        #expect(
            sent.hasPrefix(
                "EHLO blau.lab\r\nSTARTTLS\r\n<TLS>EHLO blau.lab\r\nAUTH PLAIN \(Self.plain)\r\n"
                    + "MAIL FROM:<alice@gruen.lab>\r\n"), "\(sent)")
        #expect(events.first == .ready)
        #expect(events.contains { if case .finished = $0 { return true } else { return false } })
    }

    @Test func anySplitOfTheRepliesGivesTheSameAuthConversation() {
        let whole = Self.run(Self.plainServer)
        for chunk in 1...13 {
            let split = Self.run(Self.plainServer, chunk: chunk)
            #expect(split.sent == whole.sent, "chunk \(chunk)")
            #expect(split.events == whole.events, "chunk \(chunk)")
        }
    }

    @Test func loginWhenPlainIsNotOffered() {
        let server =
            "220 rot.lab\r\n|250-rot.lab\r\n250 AUTH LOGIN\r\n|334 VXNlcm5hbWU6\r\n"
            + "|334 UGFzc3dvcmQ6\r\n|235 2.0.0 ok\r\n"
        let (sent, events) = Self.run(server, tls: .never, secured: true)
        #expect(
            sent
                == "EHLO blau.lab\r\nAUTH LOGIN\r\n\(Base64.encode(Array("blau".utf8)))\r\n"
                + "\(Base64.encode(Array("s3cret:x".utf8)))\r\nMAIL FROM:<alice@gruen.lab>\r\n")
        #expect(events == [.ready])
    }

    @Test func credentialsNeverGoOverAnUnencryptedSession() {
        let server = "220 rot.lab\r\n|250-rot.lab\r\n250 AUTH PLAIN LOGIN\r\n"
        let (sent, events) = Self.run(server, tls: .opportunistic)
        #expect(sent == "EHLO blau.lab\r\n")
        #expect(
            events == [
                .failed(
                    SMTPReply(
                        code: 421,
                        lines: ["4.7.0 not sending credentials over an unencrypted session"])),
                .closed,
            ])
    }

    @Test func aNextHopWithoutAuthOrWithoutAKnownMechanismIsATemporaryFailure() {
        let none = Self.run("220 r\r\n|250 rot.lab\r\n", tls: .never, secured: true)
        #expect(
            none.events.first
                == .failed(SMTPReply(code: 421, lines: ["4.7.0 next hop offers no AUTH"])))
        let other = Self.run(
            "220 r\r\n|250-rot.lab\r\n250 AUTH CRAM-MD5\r\n", tls: .never, secured: true)
        #expect(
            other.events.first
                == .failed(
                    SMTPReply(code: 421, lines: ["4.7.0 next hop offers neither PLAIN nor LOGIN"])))
        #expect(!other.sent.contains("AUTH"))
    }

    @Test func aRefusedAuthKeepsTheMailQueuedWithTheNextHopsReply() {
        let server =
            "220 r\r\n|250-rot.lab\r\n250 AUTH PLAIN\r\n|535 5.7.8 Authentication failed\r\n"
        let (_, events) = Self.run(server, tls: .never, secured: true)
        #expect(
            events == [
                .failed(
                    SMTPReply(
                        code: 421,
                        lines: ["4.7.0 AUTH refused by next hop: 535 5.7.8 Authentication failed"])),
                .closed,
            ])
    }

    @Test func withoutCredentialsNoAuthIsSentEvenWhenOffered() {
        let (sent, events) = Self.run(
            "220 r\r\n|250-rot.lab\r\n250 AUTH PLAIN\r\n", tls: .never, secured: true,
            credentials: nil)
        #expect(sent == "EHLO blau.lab\r\nMAIL FROM:<alice@gruen.lab>\r\n")
        #expect(events == [.ready])
    }
}
