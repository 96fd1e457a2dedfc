import Testing

@testable import SMTPProtocol

private let undeclared = "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
private let senderSyntax = "553 5.1.0 Sender address syntax error"
private let recipientSyntax = "501 5.1.3 Recipient address syntax error"

/// Accepts every recipient (UTF-8 ones included).
private struct AcceptAll: RecipientPolicy {
    func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict {
        .accept(RecipientRoute(action: "all", user: "u", mailbox: "/tmp/x"))
    }
}

private func session(smtputf8: Bool = true, seed: UInt64 = 42) -> SMTPSession {
    var configuration = referenceConfiguration()
    configuration.smtputf8 = smtputf8
    return SMTPSession(
        configuration: configuration, peer: localPeer, policy: AcceptAll(),
        environment: fixedEnvironment(seed: seed))
}

/// Feeds `text` (after start) in the given chunk sizes, answering deliveries.
private func run(_ bytes: [UInt8], chunks: [Int] = [Int.max], smtputf8: Bool = true)
    -> [SessionEvent]
{
    var s = session(smtputf8: smtputf8)
    var events = s.start()
    var offset = 0
    var turn = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + max(1, chunks[turn % chunks.count]))
        var produced = s.receive(Array(bytes[offset..<end]))
        while let index = produced.firstIndex(where: {
            if case .deliver = $0 { true } else { false }
        }) {
            events += produced[...index]
            produced = Array(produced[(index + 1)...]) + s.deliveryFinished(.delivered)
        }
        events += produced
        offset = end
        turn += 1
    }
    return events
}

private func run(_ text: String, smtputf8: Bool = true) -> [SessionEvent] {
    run(Array(text.utf8), smtputf8: smtputf8)
}

@Suite("SMTPUTF8 in the session (RFC 6531/6532)")
struct SMTPUTF8SessionTests {
    @Test("EHLO advertises SMTPUTF8 before HELP; not when the listener switches it off")
    func advertised() {
        #expect(run("EHLO x\r\n").replies.suffix(2) == ["250-SMTPUTF8", "250 HELP"])
        #expect(!run("EHLO x\r\n", smtputf8: false).replies.contains("250-SMTPUTF8"))
    }

    @Test("MAIL … SMTPUTF8 with UTF-8 local parts and domains: accepted and delivered as given")
    func accepted() {
        let events = run(
            "EHLO x\r\nMAIL FROM:<jürgen@bücher.example> SMTPUTF8\r\nRCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n"
                + "RCPT TO:<用户@例子.广告>\r\nDATA\r\nSubject: ü\r\n\r\nbody\r\n.\r\n")
        #expect(
            events.replies.suffix(4) == [
                "250 2.1.5 Destination address valid: Recipient ok",
                "250 2.1.5 Destination address valid: Recipient ok",
                "354 Enter mail, end with \".\" on a line by itself",
                events.replies.last!,
            ])
        let message = events.messages.first
        #expect(message?.sender.description == "jürgen@bücher.example")
        #expect(
            message?.recipients.map(\.address.description) == [
                "δοκιμή@παράδειγμα.δοκιμή", "用户@例子.广告",
            ])
        let text = String(decoding: message?.content ?? [], as: UTF8.self)
        #expect(text.contains(") with UTF8SMTP id "), "\(text)")
    }

    @Test("a UTF-8 address without the SMTPUTF8 parameter: 553 5.6.7, at MAIL and at RCPT")
    func undeclaredRefused() {
        #expect(run("EHLO x\r\nMAIL FROM:<jürgen@x.example>\r\n").replies.last == undeclared)
        #expect(run("EHLO x\r\nMAIL FROM:<a@bücher.example>\r\n").replies.last == undeclared)
        let rcpt = run("EHLO x\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<jürgen@x.example>\r\n")
        #expect(rcpt.replies.last == undeclared)
        // ASCII addresses need no parameter, and SMTPUTF8 may be given for them.
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@x.example> SMTPUTF8\r\n").replies.last == "250 2.0.0 Ok")
    }

    @Test("switched off: UTF-8 is a syntax error and SMTPUTF8 an unsupported option, as OpenSMTPD")
    func offAsOpenSMTPD() {
        #expect(
            run("EHLO x\r\nMAIL FROM:<müller@x>\r\n", smtputf8: false).replies.last == senderSyntax)
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@b> SMTPUTF8\r\n", smtputf8: false).replies.last
                == "503 5.5.4 Invalid command arguments: Unsupported option SMTPUTF8")
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<a@müller.example>\r\n", smtputf8: false)
                .replies.last == recipientSyntax)
    }

    @Test(
        "hostile UTF-8 is refused even with SMTPUTF8: overlong, invalid, surrogate, NUL, controls",
        arguments: [
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],  // overlong
            // invalid
            [0x80], [0xC3], [0xE2, 0x82], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xC3, 0x28],
            [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],  // surrogate, above U+10FFFF
            [0x00], [0xC2, 0x85],  // NUL, C1 control (NEL)
            [0xE2, 0x80, 0xAE], [0xE2, 0x80, 0x8F], [0xE2, 0x81, 0xA6], [0xD8, 0x9C],  // bidi
            [0xE2, 0x80, 0x8B], [0xEF, 0xBB, 0xBF], [0xEF, 0xBF, 0xBF],  // ZWSP, BOM, U+FFFF
        ] as [[UInt8]])
    func hostile(_ bytes: [UInt8]) {
        for (user, domain) in [
            (Array("a".utf8) + bytes, Array("x.example".utf8)),
            (Array("a".utf8), Array("x".utf8) + bytes + Array(".example".utf8)),
        ] {
            let mail =
                Array("EHLO x\r\nMAIL FROM:<".utf8) + user + [0x40] + domain
                + Array("> SMTPUTF8\r\n".utf8)
            #expect(run(mail).replies.last == senderSyntax, "\(bytes)")
            let rcpt =
                Array("EHLO x\r\nMAIL FROM:<a@b> SMTPUTF8\r\nRCPT TO:<".utf8) + user + [0x40]
                + domain + Array(">\r\n".utf8)
            #expect(run(rcpt).replies.last == recipientSyntax, "\(bytes)")
        }
    }

    @Test("a U-label of more than 63 bytes is refused; 63 bytes pass")
    func labelLength() {
        let label63 = String(repeating: "ü", count: 31) + "a"  // 31 × 2 + 1 bytes
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@\(label63).example> SMTPUTF8\r\n").replies.last
                == "250 2.0.0 Ok")
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@\(label63)ü.example> SMTPUTF8\r\n").replies.last
                == senderSyntax)
    }

    @Test("Received says UTF8SMTPS under TLS and UTF8SMTPSA when authenticated too")
    func receivedWithTLSAndAuth() {
        var configuration = referenceConfiguration()
        configuration.smtputf8 = true
        configuration.tlsOffer = .starttls
        configuration.authOffer = .optional
        var driver = Driver(configuration: configuration)
        driver.authenticate = { _ in .accepted }
        driver.start()
        driver.send("EHLO x\r\nSTARTTLS\r\n")
        _ = driver.session.tlsEstablished(protocol: "TLSv1.3", cipher: "C", bits: 256)
        let body = "MAIL FROM:<jü@x> SMTPUTF8\r\nRCPT TO:<root@vm>\r\nDATA\r\n\r\nb\r\n.\r\n"
        let plain = driver.send("EHLO x\r\n" + body).messages.first?.content ?? []
        let plainText = String(decoding: plain, as: UTF8.self)
        #expect(plainText.contains("with UTF8SMTPS id"))
        driver.send("AUTH PLAIN \(Base64.encode(Array("\0u\0p".utf8)))\r\n")
        let authed = driver.send(body).messages.first?.content ?? []
        let authedText = String(decoding: authed, as: UTF8.self)
        #expect(authedText.contains("with UTF8SMTPSA id"))
    }

    @Test("the same SMTPUTF8 dialogue fed whole, byte by byte and at random splits")
    func splits() {
        let bytes = Array(
            ("EHLO x\r\nMAIL FROM:<jürgen@bücher.example> SMTPUTF8\r\nRCPT TO:<用户@例子.广告>\r\n"
                + "RCPT TO:<a\u{202E}b@x>\r\nDATA\r\nSubject: ü\r\n\r\nbody\r\n.\r\n"
                + "MAIL FROM:<ü@x>\r\nQUIT\r\n").utf8)
        let whole = run(bytes)
        #expect(whole.messages.count == 1)
        #expect(whole.replies.contains(undeclared))
        #expect(whole.replies.contains(recipientSyntax))
        #expect(run(bytes, chunks: [1]) == whole)
        let random = SplitMix(seed: 3)
        for _ in 0..<40 {
            let sizes = (0..<8).map { _ in Int(random.next() % 23) + 1 }
            #expect(run(bytes, chunks: sizes) == whole)
        }
    }
}

@Suite("UTF8Address: the UTF-8 decoder against Swift's own validation")
struct UTF8AddressTests {
    @Test("random byte strings: well-formed exactly when Swift says so, with the same scalars")
    func againstSwift() {
        let random = SplitMix(seed: 11)
        let interesting: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
            0xF5, 0xFF, 0x9F, 0xA0,
        ]
        var valid = 0
        for _ in 0..<30_000 {
            let length = Int(random.next() % 7)
            let bytes = (0..<length).map { _ in
                random.next() % 2 == 0
                    ? interesting[Int(random.next() % UInt64(interesting.count))]
                    : UInt8(truncatingIfNeeded: random.next())
            }
            let swift = String(validating: bytes, as: UTF8.self)
            let ours = UTF8Address.scalars(bytes)
            #expect((ours == nil) == (swift == nil), "\(bytes)")
            if let swift, let ours {
                valid += 1
                #expect(ours == swift.unicodeScalars.map(\.value), "\(bytes)")
            }
        }
        #expect(valid > 1000)
    }
}
