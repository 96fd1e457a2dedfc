import Testing

@testable import SMTPProtocol

/// A session with STARTTLS and AUTH offered, so that every fault stage can be reached.
private func faultConfiguration() -> SessionConfiguration {
    var configuration = referenceConfiguration()
    configuration.tlsOffer = .starttls
    configuration.authOffer = .optional
    configuration.authWithoutTLS = true
    configuration.chunking = true  // the bdat stage
    return configuration
}

/// The client lines up to and including the command of `stage` (nothing for `connect`).
private func script(to stage: FaultStage) -> (before: [String], step: String?) {
    let mail = ["EHLO x", "MAIL FROM:<alice@example.org>"]
    switch stage {
    case .connect: return ([], nil)
    case .helo: return ([], "EHLO x")
    case .starttls: return (["EHLO x"], "STARTTLS")
    case .auth: return (["EHLO x"], "AUTH PLAIN " + Base64.encode(Array("\0alice\0pw".utf8)))
    case .mail: return (["EHLO x"], "MAIL FROM:<alice@example.org>")
    case .rcpt: return (mail, "RCPT TO:<root@localhost>")
    case .data: return (mail + ["RCPT TO:<root@localhost>"], "DATA")
    case .body: return (mail + ["RCPT TO:<root@localhost>", "DATA"], "Subject: x")
    // A chunk of 4 bytes, "ab" and the CRLF the driver adds.
    case .bdat: return (mail + ["RCPT TO:<root@localhost>"], "BDAT 4 LAST\r\nab")
    case .afterData:
        return (mail + ["RCPT TO:<root@localhost>", "DATA", "Subject: x", "", "body"], ".")
    }
}

/// Drives a session by hand: deliveries answered at once, `.authenticate` rejected, delays
/// left for the test to end with `delayElapsed`.
private struct FaultDriver {
    var session: SMTPSession

    init(_ rules: [FaultRule], seed: UInt64 = 7, sessionNumber: Int = 1, peer: String = "127.0.0.1")
    {
        session = SMTPSession(
            configuration: faultConfiguration(), peer: PeerInfo(address: peer),
            policy: FakePolicy(), environment: fixedEnvironment())
        if !rules.isEmpty {
            session.faults = FaultPlan(rules: rules, seed: seed).session(number: sessionNumber)
        }
    }

    mutating func settle(_ first: [SessionEvent]) -> [SessionEvent] {
        var produced = first
        var index = 0
        while index < produced.count {
            switch produced[index] {
            case .deliver: produced += session.deliveryFinished(.delivered)
            case .authenticate: produced += session.authenticationFinished(.rejected)
            default: break
            }
            index += 1
        }
        return produced
    }

    mutating func start() -> [SessionEvent] { settle(session.start()) }
    mutating func send(_ line: String) -> [SessionEvent] {
        settle(session.receive(Array((line + "\r\n").utf8)))
    }
    mutating func elapse() -> [SessionEvent] { settle(session.delayElapsed()) }

    /// Runs `script(to: stage)`; returns the events of the stage's step alone.
    mutating func run(to stage: FaultStage) -> [SessionEvent] {
        let (before, step) = script(to: stage)
        let banner = start()
        for line in before { _ = send(line) }
        return step.map { send($0) } ?? banner
    }
}

private func rule(
    _ stage: FaultStage, _ action: FaultAction, _ condition: FaultCondition = FaultCondition(),
    probability: Double = 1
) -> FaultRule {
    // Every rule built here is valid; a throwing init in a helper keeps the tests short.
    try! FaultRule(stage: stage, action: action, condition: condition, probability: probability)
}

private func reply(_ lines: String...) -> FaultAction {
    .reply(try! FaultReply(parsing: lines))
}

extension [SessionEvent] {
    fileprivate var delays: [UInt64] {
        compactMap { if case .delay(let n) = $0 { return n } else { return nil } }
    }
    fileprivate var resets: Int { filter { $0 == .reset }.count }
}

@Suite("Fault injection in the session: each stage × each action")
struct FaultSessionTests {
    /// `body` takes only a 421 (FaultReplyShapeTests has its own).
    @Test(
        "a reply rule answers in place of the stage's own reply",
        arguments: FaultStage.allCases.filter { $0 != .body })
    func replyReplaces(stage: FaultStage) {
        let code = stage == .connect ? "554 5.3.2 Not today" : "451 4.7.1 Try later"
        var driver = FaultDriver([rule(stage, reply(code))])
        let events = driver.run(to: stage)
        #expect(events.replies == [code])
        #expect(events.messages.isEmpty)
        #expect(
            events.logs.contains { $0.contains("smtp fault stage=\(stage.rawValue) session=1") })
        if stage == .connect {
            #expect(events.closes == 1)
        } else {
            #expect(events.closes == 0)
            #expect(driver.send("NOOP").replies == ["250 2.0.0 Ok"])
        }
    }

    @Test("a reply rule at MAIL leaves no transaction, at RCPT no recipient")
    func replyHasNoEffect() {
        var mail = FaultDriver([rule(.mail, reply("451 4.7.1 Later"))])
        _ = mail.run(to: .mail)
        #expect(mail.send("RCPT TO:<root@localhost>").replies == [SMTPSession.notAllowed])
        var rcpt = FaultDriver([rule(.rcpt, reply("450 4.2.1 Busy"))])
        _ = rcpt.run(to: .rcpt)
        #expect(
            rcpt.send("DATA").replies == [
                "503 5.5.4 Invalid command arguments: No recipient specified"
            ])
    }

    @Test("a 421 reply closes the session (RFC 5321 §3.8)")
    func reply421Closes() {
        var driver = FaultDriver([rule(.rcpt, reply("421 4.3.0 Going away"))])
        let events = driver.run(to: .rcpt)
        #expect(events.replies == ["421 4.3.0 Going away"])
        #expect(events.closes == 1)
    }

    @Test("a multi-line reply gets continuation dashes on all lines but the last")
    func multiLineReply() {
        var driver = FaultDriver([
            rule(.rcpt, reply("452 4.5.3 Too many", "452 4.5.3 come back later"))
        ])
        #expect(
            driver.run(to: .rcpt).replies == ["452-4.5.3 Too many", "452 4.5.3 come back later"])
    }

    @Test(
        "a delay rule holds the stage's normal outcome until delayElapsed",
        arguments: FaultStage.allCases)
    func delayHoldsTheReply(stage: FaultStage) {
        var plain = FaultDriver([])
        let expected = plain.run(to: stage).filter(\.isOutcome)
        var driver = FaultDriver([rule(stage, .delay(nanoseconds: 2_500_000_000))])
        let held = driver.run(to: stage)
        #expect(held.delays == [2_500_000_000])
        #expect(held.replies.isEmpty)
        #expect(!driver.session.wantsInput)
        let after = driver.elapse().filter(\.isOutcome)
        #expect(after.map(normalizedEvent) == expected.map(normalizedEvent))
    }

    @Test("input pipelined during a delay is answered after it, in order")
    func pipelinedDuringDelay() {
        var driver = FaultDriver([rule(.helo, .delay(nanoseconds: 1_000_000))])
        _ = driver.start()
        let held = driver.settle(driver.session.receive(Array("EHLO x\r\nNOOP\r\n".utf8)))
        #expect(held.replies.isEmpty)
        let after = driver.elapse().replies
        #expect(after.first == "250-vm Hello x [127.0.0.1], pleased to meet you")
        #expect(after.last == "250 2.0.0 Ok")
    }

    @Test("a delay and a reply at the same stage: the wait, then the fault reply")
    func delayThenReply() {
        var driver = FaultDriver([
            rule(.rcpt, .delay(nanoseconds: 5_000_000_000)), rule(.rcpt, reply("451 4.7.1 Slow")),
        ])
        #expect(driver.run(to: .rcpt).delays == [5_000_000_000])
        #expect(driver.elapse().replies == ["451 4.7.1 Slow"])
    }

    @Test(
        "disconnect fin closes without a reply, disconnect rst resets",
        arguments: FaultStage.allCases, [FaultDisconnect.fin, .rst])
    func disconnect(stage: FaultStage, how: FaultDisconnect) {
        var driver = FaultDriver([rule(stage, .disconnect(how))])
        let events = driver.run(to: stage)
        #expect(events.replies.isEmpty)
        #expect(events.messages.isEmpty)
        #expect(events.closes == (how == .fin ? 1 : 0))
        #expect(events.resets == (how == .rst ? 1 : 0))
        #expect(!driver.session.wantsInput)
        #expect(driver.send("NOOP").isEmpty)
    }

    @Test("accept-and-drop answers 250 for the message, stores nothing and says so")
    func acceptAndDrop() {
        var driver = FaultDriver([rule(.afterData, .acceptAndDrop, FaultCondition(message: 1))])
        let events = driver.run(to: .afterData)
        #expect(events.replies.map(normalized) == ["250 2.0.0 MSGID Message accepted for delivery"])
        #expect(events.messages.isEmpty)
        #expect(
            events.logs.contains { $0.contains("accept-and-drop") && $0.contains("NOTHING STORED") }
        )
        // The session goes on: a second message is stored as usual.
        _ = driver.send("MAIL FROM:<a@b.example>")
        _ = driver.send("RCPT TO:<root@localhost>")
        _ = driver.send("DATA")
        let second = driver.send("Subject: y\r\n\r\nx\r\n.")
        #expect(second.messages.count == 1)
    }

    @Test("conditions narrow a rule to a recipient, the n-th recipient, message, session, client")
    func conditions() {
        func rcptReplies(_ condition: FaultCondition, session: Int = 1, peer: String = "127.0.0.1")
            -> [String]
        {
            var driver = FaultDriver(
                [rule(.rcpt, reply("451 4.7.1 No"), condition)], sessionNumber: session, peer: peer)
            _ = driver.start()
            var replies: [String] = []
            for message in 1...2 {
                _ = driver.send("EHLO x").count
                _ = message
                replies += driver.send("MAIL FROM:<alice@example.org>").replies
                replies += driver.send("RCPT TO:<root@localhost>").replies
                replies += driver.send("RCPT TO:<osdrefuser@localhost>").replies
                replies += driver.send("RSET").replies
            }
            return replies.filter { $0.hasPrefix("451") || $0.hasPrefix("250 2.1.5") }
                .map { $0.hasPrefix("451") ? "x" : "." }
        }
        #expect(
            rcptReplies(FaultCondition(recipient: "OSDREFUSER@localhost")) == [".", "x", ".", "x"])
        #expect(rcptReplies(FaultCondition(recipientNumber: 1)) == ["x", ".", "x", "."])
        #expect(rcptReplies(FaultCondition(message: 2)) == [".", ".", "x", "x"])
        #expect(rcptReplies(FaultCondition(sender: "bob@example.org")) == [".", ".", ".", "."])
        #expect(rcptReplies(FaultCondition(session: 3), session: 3) == ["x", "x", "x", "x"])
        #expect(rcptReplies(FaultCondition(session: 3), session: 2) == [".", ".", ".", "."])
        #expect(rcptReplies(FaultCondition(client: "::1"), peer: "::1") == ["x", "x", "x", "x"])
        #expect(rcptReplies(FaultCondition(client: "::1")) == [".", ".", ".", "."])
    }

    @Test("with faults, any split of the input gives the same replies")
    func splitsGiveTheSameReplies() {
        let rules = [
            rule(.rcpt, .delay(nanoseconds: 1_000)),
            rule(.rcpt, reply("451 4.7.1 Second"), FaultCondition(recipientNumber: 2)),
            rule(.afterData, .delay(nanoseconds: 2_000)),
        ]
        let input = Array(
            ("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<root@localhost>\r\n"
                + "RCPT TO:<osdrefuser@localhost>\r\nDATA\r\nSubject: s\r\n\r\nb\r\n.\r\nQUIT\r\n")
                .utf8)
        func replies(chunks sizes: [Int]) -> [String] {
            var driver = FaultDriver(rules)
            var events = driver.start()
            var offset = 0
            var turn = 0
            while offset < input.count {
                let size = min(sizes[turn % sizes.count], input.count - offset)
                var produced = driver.settle(
                    driver.session.receive(Array(input[offset..<offset + size])))
                // The server would end each delay before feeding more once reading resumes.
                while !produced.delays.isEmpty, !driver.session.wantsInput {
                    events += produced
                    produced = driver.elapse()
                }
                events += produced
                offset += size
                turn += 1
            }
            return events.replies.map(normalized)
        }
        let whole = replies(chunks: [input.count])
        #expect(whole.contains("451 4.7.1 Second"))
        #expect(whole.last == "221 2.0.0 Bye")
        #expect(replies(chunks: [1]) == whole)
        var generator = SplitMix64(seed: 11)
        for _ in 0..<20 {
            let sizes = (0..<8).map { _ in Int(generator.next() % 17) + 1 }
            #expect(replies(chunks: sizes) == whole, "chunks \(sizes)")
        }
    }

    /// One session with one RCPT: "x" if the 50 % rule fired.
    private static func draws(seed: UInt64, sessions: Int) -> String {
        let rules = [rule(.rcpt, reply("451 4.7.1 Maybe"), probability: 0.5)]
        var outcome = ""
        for number in 1...sessions {
            var driver = FaultDriver(rules, seed: seed, sessionNumber: number)
            let replies = driver.run(to: .rcpt).replies
            outcome += replies == ["451 4.7.1 Maybe"] ? "x" : "."
        }
        return outcome
    }

    @Test("the same seed gives the same faults over 1,000 sessions; another seed others")
    func seedReproduces() {
        let first = Self.draws(seed: 42, sessions: 1000)
        #expect(first == Self.draws(seed: 42, sessions: 1000))
        #expect(first != Self.draws(seed: 43, sessions: 1000))
        let fired = first.filter { $0 == "x" }.count
        #expect((430...570).contains(fired), "50 % of 1,000 fired \(fired) times")
    }

    @Test("rules that could never fire are refused with the reason")
    func impossibleRules() {
        func reason(_ make: () throws(FaultRuleError) -> FaultRule) -> String? {
            do {
                _ = try make()
                return nil
            } catch {
                return error.description
            }
        }
        #expect(
            reason { () throws(FaultRuleError) in
                try FaultRule(stage: .rcpt, action: .acceptAndDrop)
            }
                == "accept-and-drop is only possible at after-data")
        #expect(
            reason { () throws(FaultRuleError) in
                try FaultRule(
                    stage: .helo, action: .disconnect(.fin),
                    condition: FaultCondition(sender: "a@b"))
            } == "no sender is known at helo")
        #expect(
            reason { () throws(FaultRuleError) in
                try FaultRule(stage: .mail, action: .disconnect(.fin), probability: 1.5)
            } == "probability must be between 0 and 1, not 1.5")
        #expect(
            reason { () throws(FaultRuleError) in
                try FaultRule(
                    stage: .data, action: .disconnect(.fin),
                    condition: FaultCondition(recipientNumber: 1))
            } == "a recipient number is only possible at rcpt")
    }

    @Test("fault replies are checked: code range, one code, class of the enhanced code")
    func replyValidation() {
        func reason(_ lines: [String]) -> String? {
            do {
                _ = try FaultReply(parsing: lines)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(reason(["451 4.7.1 ok"]) == nil)
        #expect(reason(["451"]) == nil)
        #expect(reason(["45 x"])?.contains("expected a code 200-599") == true)
        #expect(reason(["651 x"])?.contains("expected a code 200-599") == true)
        #expect(reason(["451 5.7.1 x"])?.contains("is not of class 4") == true)
        #expect(reason(["451 a", "452 b"])?.contains("every line must have the code 451") == true)
        #expect(reason([]) == "a reply needs at least one line")
    }
}

extension SessionEvent {
    /// What the peer or the store sees (not log or trace lines).
    fileprivate var isOutcome: Bool {
        switch self {
        case .log, .trace: false
        default: true
        }
    }
}

/// Message ids differ between two runs only by the random draws the faults do not touch;
/// replies compare normalised.
private func normalizedEvent(_ event: SessionEvent) -> String {
    switch event {
    case .reply(let bytes): normalized(String(decoding: bytes.dropLast(2), as: UTF8.self))
    default: "\(event)"
    }
}
