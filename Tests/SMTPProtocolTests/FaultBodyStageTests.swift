import Testing

@testable import SMTPProtocol

/// The `body` stage: a rule fires on the line of DATA's content that brings the message to
/// its byte count, once per message, and only there.
@Suite struct FaultBodyStageTests {
    private static func session(_ rules: [FaultRule]) -> SMTPSession {
        var configuration = referenceConfiguration()
        configuration.chunking = true
        var session = SMTPSession(
            configuration: configuration, peer: PeerInfo(address: "127.0.0.1"),
            policy: FakePolicy(), environment: fixedEnvironment())
        session.faults = FaultPlan(rules: rules, seed: 1).session(number: 1)
        return session
    }

    private static func toBody(_ session: inout SMTPSession, withData: Bool = true) {
        _ = session.start()
        let lines = ["EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<root@localhost>"]
        for line in lines + (withData ? ["DATA"] : []) {
            _ = session.receive(Array((line + "\r\n").utf8))
        }
    }

    /// Ten lines of 9 bytes + LF counted (as OpenSMTPD counts them): 10 bytes each.
    private static let lines = (0..<10).map { "line \($0)..." }

    @Test(arguments: [1, 10, 11, 55, 100])
    func aDisconnectFiresOnTheLineThatReachesTheCount(bytes: Int) throws {
        var session = Self.session([
            try FaultRule(
                stage: .body, action: .disconnect(.rst),
                condition: FaultCondition(bodyBytes: bytes))
        ])
        Self.toBody(&session)
        var firedOn: Int?
        for (index, line) in Self.lines.enumerated() {
            let events = session.receive(Array((line + "\r\n").utf8))
            if events.contains(.reset) {
                firedOn = index
                break
            }
        }
        #expect(firedOn == (bytes - 1) / 10)
    }

    @Test func aDelayHoldsTheRestOfTheBodyAndTheMessageGoesThroughAfterIt() throws {
        var session = Self.session([
            try FaultRule(
                stage: .body, action: .delay(nanoseconds: 3_000_000_000),
                condition: FaultCondition(bodyBytes: 15))
        ])
        Self.toBody(&session)
        let first = session.receive(Array("Subject: x\r\n\r\nbody\r\n.\r\n".utf8))
        // "Subject: x" is 11 bytes, the empty line 12: "body" (17) reaches 15.
        #expect(first.contains(.delay(nanoseconds: 3_000_000_000)))
        #expect(!first.contains { if case .deliver = $0 { true } else { false } })
        #expect(!session.wantsInput)
        let after = session.delayElapsed()
        let message = try #require(
            after.compactMap { if case .deliver(let m) = $0 { m } else { nil } }.first)
        let text = String(decoding: message.content, as: UTF8.self)
        #expect(text.contains("Subject: x\n") && text.hasSuffix("\n\nbody\n"))
    }

    @Test func a421InTheBodyClosesAndNothingIsDelivered() throws {
        var session = Self.session([
            try FaultRule(
                stage: .body, action: .reply(try FaultReply(parsing: ["421 4.3.0 Bye now"])))
        ])
        Self.toBody(&session)
        let events = session.receive(Array("Subject: x\r\n\r\nbody\r\n.\r\n".utf8))
        #expect(events.replies == ["421 4.3.0 Bye now"])
        #expect(events.closes == 1)
        #expect(events.messages.isEmpty)
    }

    @Test func aBodyRuleFiresInsideABDATChunkAtItsByte() throws {
        var session = Self.session([
            try FaultRule(
                stage: .body, action: .disconnect(.rst),
                condition: FaultCondition(bodyBytes: 30))
        ])
        Self.toBody(&session, withData: false)
        // The first chunk (20 bytes) passes; the second reaches byte 30 in its first piece.
        let first = session.receive(Array(("BDAT 20\r\n" + String(repeating: "a", count: 20)).utf8))
        #expect(first.replies == ["250 2.0.0 Ok: 20 octets received"])
        let second = session.receive(Array("BDAT 20 LAST\r\n0123456789".utf8))
        #expect(second.contains(.reset))
        #expect(second.messages.isEmpty)
    }

    @Test func aReplyAtABDATChunkDropsTheMessage() throws {
        var session = Self.session([
            try FaultRule(
                stage: .bdat, action: .reply(try FaultReply(parsing: ["452 4.3.1 Full"])),
                condition: FaultCondition(message: 1))
        ])
        Self.toBody(&session, withData: false)
        let events = session.receive(Array("BDAT 14 LAST\r\nSubject: s\r\n\r\n".utf8))
        #expect(events.replies == ["452 4.3.1 Full"])
        #expect(events.messages.isEmpty)
        // The transaction is gone: the client starts again with MAIL.
        #expect(
            session.receive(Array("BDAT 2 LAST\r\nxy".utf8)).replies.first?.hasPrefix("503 ")
                == true)
    }

    @Test func onlyA421AndAByteCountOnlyAtBody() throws {
        #expect(throws: FaultRuleError.self) {
            try FaultRule(stage: .body, action: .reply(try FaultReply(parsing: ["451 4.3.0 No"])))
        }
        #expect(throws: FaultRuleError.self) {
            try FaultRule(
                stage: .data, action: .disconnect(.fin), condition: FaultCondition(bodyBytes: 5))
        }
        #expect(throws: FaultRuleError.self) {
            try FaultRule(
                stage: .body, action: .disconnect(.fin), condition: FaultCondition(bodyBytes: 0))
        }
    }
}
