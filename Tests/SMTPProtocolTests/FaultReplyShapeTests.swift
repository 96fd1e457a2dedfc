import Testing

@testable import SMTPProtocol

/// The two reply shapes of fault injection beside a whole reply: a partial reply then a
/// close, and a reply throttled to a number of bytes per second. Pure: the session says how
/// long to wait (`.delay`), the test says when the wait is over.
@Suite struct FaultReplyShapeTests {
    private static let text = "451 4.7.1 Try later"

    private static func session(_ action: FaultAction, at stage: FaultStage = .rcpt)
        -> SMTPSession
    {
        var session = SMTPSession(
            configuration: referenceConfiguration(), peer: PeerInfo(address: "127.0.0.1"),
            policy: FakePolicy(), environment: fixedEnvironment())
        session.faults = FaultPlan(rules: [try! FaultRule(stage: stage, action: action)], seed: 1)
            .session(number: 1)
        return session
    }

    private static func feed(_ session: inout SMTPSession, _ lines: [String]) -> [SessionEvent] {
        var events: [SessionEvent] = []
        for line in lines { events = session.receive(Array((line + "\r\n").utf8)) }
        return events
    }

    private static let upToRcpt = [
        "EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<root@localhost>",
    ]

    @Test(arguments: [1, 5, 20])
    func aPartialReplySendsThatManyBytesAndCloses(bytes: Int) throws {
        let reply = try FaultReply(parsing: [Self.text])
        var session = Self.session(.partialReply(reply, bytes: bytes))
        _ = session.start()
        let events = Self.feed(&session, Self.upToRcpt)
        #expect(events.rawReplies == [Array(reply.wireBytes.prefix(bytes))])
        #expect(events.last == .close)
        #expect(!session.wantsInput)
        #expect(
            events.logs.contains { $0.contains("action=partial-reply code=451 bytes=\(bytes)") })
    }

    @Test func aThrottledReplyComesInPiecesWithTheWaitsBetweenAndInputWaits() throws {
        let reply = try FaultReply(parsing: ["451-4.7.1 Slow", Self.text])
        let wire = reply.wireBytes
        // 40 B/s: pieces of 4 bytes, 100 ms apart.
        var session = Self.session(.throttledReply(reply, bytesPerSecond: 40))
        _ = session.start()
        var events = Self.feed(&session, Self.upToRcpt)
        var sent = events.rawReplies.suffix(1).flatMap { $0 }
        #expect(sent == Array(wire.prefix(4)))
        #expect(events.last == .delay(nanoseconds: 100_000_000))
        #expect(!session.wantsInput)
        // A pipelined NOOP is answered after the whole reply, not between its pieces.
        events = session.receive(Array("NOOP\r\n".utf8))
        #expect(events.rawReplies.isEmpty)
        var waits = 1
        while true {
            events = session.delayElapsed()
            let pieces = events.rawReplies
            if events.last == .delay(nanoseconds: 100_000_000) {
                #expect(pieces.count == 1 && pieces[0].count == 4)
                sent += pieces[0]
                waits += 1
                continue
            }
            sent += pieces.first ?? []
            #expect(
                pieces.dropFirst().map { String(decoding: $0, as: UTF8.self) } == [
                    "250 2.0.0 Ok\r\n"
                ])
            break
        }
        #expect(sent == wire)
        #expect(waits == (wire.count + 3) / 4 - 1)
        #expect(session.wantsInput)
    }

    @Test func aThrottled421ClosesOnceItIsOut() throws {
        let reply = try FaultReply(parsing: ["421 4.3.2 Going away"])
        var session = Self.session(.throttledReply(reply, bytesPerSecond: 1_000_000))
        _ = session.start()
        let events = Self.feed(&session, Self.upToRcpt)
        // 100 000 bytes a piece: all of it at once, then the close.
        #expect(events.rawReplies.last == reply.wireBytes)
        #expect(events.last == .close)
    }

    @Test func rulesThatCannotBeSentAreRefused() throws {
        let reply = try FaultReply(parsing: [Self.text])
        for bytes in [0, reply.wireBytes.count, 1000] {
            #expect(throws: FaultRuleError.self) {
                try FaultRule(stage: .rcpt, action: .partialReply(reply, bytes: bytes))
            }
        }
        for rate in [0, 1_000_001] {
            #expect(throws: FaultRuleError.self) {
                try FaultRule(stage: .rcpt, action: .throttledReply(reply, bytesPerSecond: rate))
            }
        }
    }
}
