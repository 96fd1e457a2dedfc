import SMTPClient
import SMTPProtocol
import Testing

@testable import MailQueue

/// The relay's client side, bytes in, events out: what it sends for what the next hop
/// offers, the result per recipient, and the same events for any split of the replies.
@Suite struct RelayClientSessionTests {
    static let alice = MailAddress(localPart: "alice", domain: "gruen.lab")
    static let bob = MailAddress(localPart: "bob", domain: "rot.lab")
    static let carol = MailAddress(localPart: "carol", domain: "rot.lab")
    static let transaction = RelayClientSession.Transaction(
        sender: .address(alice), recipients: [bob, carol],
        content: RelayContent(Array("Subject: x\n\n.dot\nbody \u{e4}\n".utf8)))

    /// Feeds `server` (reply text, CRLF; `|` marks where the next hop waits for the client's
    /// next command) in `chunk`-sized pieces, beginning `transaction` at the first `.ready`;
    /// returns what the client sent and the events without `.send`.
    /// The same without 8-bit bytes, for next hops that do not offer 8BITMIME.
    static let sevenBit = RelayClientSession.Transaction(
        sender: .address(alice), recipients: [bob, carol],
        content: RelayContent(Array("Subject: x\n\nhi\n".utf8))
    )

    /// `answeringStartTLS`: `.startTLS` is taken as an established handshake (`<TLS>` in
    /// what was sent) instead of ending the run as an event.
    static func run(
        _ server: String, chunk: Int, tls: RelayClientSession.TLSPolicy = .never,
        transaction: RelayClientSession.Transaction = transaction,
        credentials: RelayClientSession.Credentials? = nil, secured: Bool = false,
        answeringStartTLS: Bool = false
    ) -> (sent: String, events: [RelayClientSession.Event]) {
        var session = RelayClientSession(
            heloName: "blau.lab", tls: tls, credentials: credentials, secured: secured)
        var sent: [UInt8] = []
        var events: [RelayClientSession.Event] = []
        var begun = false
        func take(_ list: [RelayClientSession.Event]) {
            for event in list {
                if case .send(let bytes) = event {
                    sent += bytes
                } else if event == .sendContent {
                    sent += DotStuffing.encode(
                        (try? transaction.content.bytes()) ?? [], loneCRAsLineEnd: true)
                } else if event == .startTLS && answeringStartTLS {
                    sent += Array("<TLS>".utf8)
                    take(session.tlsEstablished())
                } else {
                    events.append(event)
                    if event == .ready && !begun {
                        begun = true
                        take(session.begin(transaction))
                    }
                }
            }
        }
        for group in server.split(separator: "|") {
            let bytes = Array(group.utf8)
            var index = 0
            while index < bytes.count {
                let end = min(bytes.count, index + chunk)
                take(session.receive(Array(bytes[index..<end])))
                index = end
            }
        }
        return (String(decoding: sent, as: UTF8.self), events)
    }

    static let pipelinedServer =
        "220 rot.lab ESMTP\r\n|250-rot.lab\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000\r\n250 DSN\r\n"
        + "|250 2.0.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 carol: no such user\r\n354 go\r\n|250 2.0.0 queued\r\n"

    @Test func pipeliningSendsTheEnvelopeInOneGoAndReportsEachRecipient() {
        let (sent, events) = Self.run(Self.pipelinedServer, chunk: 4096)
        #expect(
            sent
                == "EHLO blau.lab\r\n"
                + "MAIL FROM:<alice@gruen.lab> SIZE=29 BODY=8BITMIME\r\nRCPT TO:<bob@rot.lab>\r\n"
                + "RCPT TO:<carol@rot.lab>\r\nDATA\r\n"
                + "Subject: x\r\n\r\n..dot\r\nbody \u{e4}\r\n.\r\n")
        let result = RelayClientSession.TransactionResult(replies: [
            SMTPReply(code: 250, lines: ["2.0.0 queued"]),
            SMTPReply(code: 550, lines: ["5.1.1 carol: no such user"]),
        ])
        #expect(events == [.ready, .finished(result), .ready])
    }

    @Test func anySplitOfTheRepliesGivesTheSameConversation() {
        let whole = Self.run(Self.pipelinedServer, chunk: 4096)
        for chunk in 1...17 {
            let split = Self.run(Self.pipelinedServer, chunk: chunk)
            #expect(split.sent == whole.sent, "chunk \(chunk)")
            #expect(split.events == whole.events, "chunk \(chunk)")
        }
    }

    @Test func withoutPipeliningOneCommandPerReplyAndNoDataWhenEveryoneIsRefused() {
        let server =
            "220 x\r\n|250 x\r\n|250 ok\r\n|550 5.1.1 no\r\n|550 5.1.1 no either\r\n|250 reset\r\n"
        let (sent, events) = Self.run(server, chunk: 3, transaction: Self.sevenBit)
        #expect(
            sent
                == "EHLO blau.lab\r\nMAIL FROM:<alice@gruen.lab>\r\nRCPT TO:<bob@rot.lab>\r\n"
                + "RCPT TO:<carol@rot.lab>\r\nRSET\r\n")
        #expect(
            events == [
                .ready,
                .finished(
                    .init(replies: [
                        SMTPReply(code: 550, lines: ["5.1.1 no"]),
                        SMTPReply(code: 550, lines: ["5.1.1 no either"]),
                    ])), .ready,
            ])
    }

    @Test func aRefusedSenderDecidesEveryRecipient() {
        let server = "220 x\r\n|250 x\r\n|451 4.3.0 try later\r\n|250 reset\r\n"
        let (sent, events) = Self.run(server, chunk: 5, transaction: Self.sevenBit)
        #expect(sent == "EHLO blau.lab\r\nMAIL FROM:<alice@gruen.lab>\r\nRSET\r\n")
        let later = SMTPReply(code: 451, lines: ["4.3.0 try later"])
        #expect(events == [.ready, .finished(.init(replies: [later, later])), .ready])
    }

    @Test func heloAfterARefusedEhloAndABannerRefusalFails() {
        let (sent, events) = Self.run(
            "220 x\r\n|502 no ehlo\r\n|250 hi\r\n", chunk: 100, transaction: Self.sevenBit)
        #expect(sent.hasPrefix("EHLO blau.lab\r\nHELO blau.lab\r\nMAIL FROM:<alice@gruen.lab>\r\n"))
        #expect(events == [.ready])
        let refused = Self.run("554 5.7.1 go away\r\n", chunk: 100)
        #expect(refused.sent == "")
        #expect(
            refused.events == [.failed(SMTPReply(code: 554, lines: ["5.7.1 go away"])), .closed])
    }

    @Test func requiredTLSWithoutStartTLSIsATemporaryFailure() {
        let (_, events) = Self.run("220 x\r\n|250 x\r\n", chunk: 100, tls: .required)
        #expect(
            events == [
                .failed(SMTPReply(code: 421, lines: ["4.7.10 STARTTLS required but not offered"])),
                .closed,
            ])
        let offered = Self.run(
            "220 x\r\n|250-x\r\n250 STARTTLS\r\n|220 go\r\n", chunk: 100, tls: .opportunistic)
        #expect(offered.sent == "EHLO blau.lab\r\nSTARTTLS\r\n")
        #expect(offered.events == [.startTLS])
    }

    @Test func eightBitContentOrAUTF8AddressIsRefusedWhenTheNextHopDoesNotOfferIt() {
        // 8-bit body, next hop without 8BITMIME: nothing sent, each recipient 554 5.6.3.
        let (sent, events) = Self.run("220 x\r\n|250 x\r\n", chunk: 100)
        #expect(sent == "EHLO blau.lab\r\n")
        let eightBit = SMTPReply(
            code: 554, lines: ["5.6.3 next hop does not offer 8BITMIME for 8-bit content"])
        #expect(events == [.ready, .finished(.init(replies: [eightBit, eightBit])), .ready])
        // A UTF-8 recipient, next hop without SMTPUTF8: 553 5.6.7.
        let utf8 = RelayClientSession.Transaction(
            sender: .address(Self.alice),
            recipients: [MailAddress(localPart: "j\u{f6}rg", domain: "rot.lab")],
            content: RelayContent(Array("Subject: x\n\nhi\n".utf8)))
        let refused = Self.run("220 x\r\n|250-x\r\n250 8BITMIME\r\n", chunk: 100, transaction: utf8)
        #expect(refused.sent == "EHLO blau.lab\r\n")
        #expect(
            refused.events == [
                .ready,
                .finished(
                    .init(replies: [
                        SMTPReply(
                            code: 553,
                            lines: [
                                "5.6.7 next hop does not offer SMTPUTF8 for a non-ASCII address"
                            ])
                    ])), .ready,
            ])
    }

    @Test func aDataReplyOtherThan354Or4xx5xxIsAProtocolErrorNotADelivery() {
        let server = "220 x\r\n|250 x\r\n|250 ok\r\n|250 ok\r\n|250 ok\r\n|250 sure\r\n"
        let (sent, events) = Self.run(server, chunk: 100, transaction: Self.sevenBit)
        #expect(!sent.contains("Subject:"), "\(sent)")
        #expect(
            events == [
                .ready,
                .failed(
                    SMTPReply(
                        code: 421,
                        lines: ["4.5.0 next hop protocol error: DATA answered with 250, not 354"])),
                .closed,
            ])
    }

    /// A stored `\r.\r` (a smuggling attempt a lenient next hop would take as the end of
    /// data) goes out as a stuffed dot line between CRLFs, and SIZE counts it so.
    @Test func aLoneCRInTheMessageGoesOutAsALineEndNeverAsABareCR() {
        let smuggling = RelayClientSession.Transaction(
            sender: .address(Self.alice), recipients: [Self.bob],
            content: RelayContent(Array("Subject: x\n\nsmuggle?\r.\rMAIL FROM:<x@evil>\n".utf8)))
        let server =
            "220 x\r\n|250-x\r\n250-SIZE 1000\r\n250 PIPELINING\r\n|250 ok\r\n250 ok\r\n354 go\r\n"
            + "|250 queued\r\n"
        let (sent, _) = Self.run(server, chunk: 100, transaction: smuggling)
        let body = "Subject: x\r\n\r\nsmuggle?\r\n..\r\nMAIL FROM:<x@evil>\r\n.\r\n"
        #expect(sent.hasSuffix("DATA\r\n" + body), "\(sent)")
        #expect(sent.contains(" SIZE=\(body.utf8.count - 4)\r\n"), "\(sent)")
        let bytes = Array(sent.utf8)
        #expect(
            !bytes.indices.contains {
                bytes[$0] == 13 && (bytes.count == $0 + 1 || bytes[$0 + 1] != 10)
            })
    }

    @Test func aMalformedOrOverlongReplyEndsTheSession() {
        let bad = Self.run("220 x\r\n|2\r\n", chunk: 100)
        #expect(bad.events.last == .closed)
        if case .failed(let reply) = bad.events.first {
            #expect(reply.code == 421)
        } else {
            Issue.record("no failure: \(bad.events)")
        }
        let long = Self.run("220 " + String(repeating: "x", count: 5000) + "\r\n", chunk: 999)
        #expect(long.events.last == .closed)
    }

    @Test func dsnParametersGoOutOnlyWhenOffered() {
        var session = RelayClientSession(heloName: "h", tls: .never)
        _ = session.receive(Array("220 x\r\n".utf8))
        _ = session.receive(Array("250-x\r\n250 DSN\r\n".utf8))
        let t = RelayClientSession.Transaction(
            sender: .address(Self.alice), recipients: [Self.bob],
            recipientDSN: [
                RecipientDSN(notify: [.failure, .delay], originalRecipient: "rfc822;b@x")
            ],
            dsn: DSNRequest(ret: .headers, envelopeID: "E1"),
            content: RelayContent(Array("x\n".utf8)))
        let events = session.begin(t)
        #expect(
            events == [.send(Array("MAIL FROM:<alice@gruen.lab> RET=HDRS ENVID=E1\r\n".utf8))])
    }
}
