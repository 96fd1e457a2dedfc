import SMTPProtocol
import Testing

@testable import SMTPConfig

/// MailLab's `fault …` statements.
@Suite struct FaultStatementTests {
    @Test func faultStatementsBecomeRulesInFileOrder() throws {
        let configuration = try parse(
            """
            fault seed "18446744073709551615"
            fault at rcpt reply "451 4.7.1 Try later" probability 0.5 for rcpt <bob@example.org>
            fault at banner delay 5s
            fault at helo delay 250ms
            fault at data disconnect rst
            fault at mail disconnect
            fault at after-data accept-and-drop for message 2 session 3
            fault at rcpt-to reply "452-4.5.3 one" "452 4.5.3 two" for recipient 2 client ::1
            fault at mail-from disconnect fin for sender <>
            """ + anyRule)
        #expect(configuration.faultSeed == UInt64.max)
        let rules = configuration.faults
        #expect(
            rules.map(\.stage) == [.rcpt, .connect, .helo, .data, .mail, .afterData, .rcpt, .mail])
        #expect(rules[0].action == .reply(try FaultReply(parsing: ["451 4.7.1 Try later"])))
        #expect(rules[0].probability == 0.5)
        #expect(rules[0].condition == FaultCondition(recipient: "bob@example.org"))
        #expect(rules[1].action == .delay(nanoseconds: 5_000_000_000))
        #expect(rules[2].action == .delay(nanoseconds: 250_000_000))
        #expect(rules[3].action == .disconnect(.rst))
        #expect(rules[4].action == .disconnect(.fin))
        #expect(rules[5].action == .acceptAndDrop)
        #expect(rules[5].condition == FaultCondition(session: 3, message: 2))
        #expect(
            rules[6].action == .reply(try FaultReply(parsing: ["452 4.5.3 one", "452 4.5.3 two"])))
        #expect(rules[6].condition == FaultCondition(client: "::1", recipientNumber: 2))
        #expect(rules[7].condition == FaultCondition(sender: ""))
    }

    @Test func partialAndThrottledRepliesAreRead() throws {
        let rules = try parse(
            """
            fault at rcpt partial-reply "451 4.7.1 Try later" bytes 5
            fault at mail partial-reply "451 4.7.1 Try later"
            fault at banner reply "220 slow.example ESMTP" throttle 20 for session 2
            """ + anyRule
        ).faults
        let reply = try FaultReply(parsing: ["451 4.7.1 Try later"])
        #expect(rules[0].action == .partialReply(reply, bytes: 5))
        // Without `bytes`: half of the reply as written (21 bytes with its CRLF).
        #expect(rules[1].action == .partialReply(reply, bytes: 10))
        #expect(
            rules[2].action
                == .throttledReply(
                    try FaultReply(parsing: ["220 slow.example ESMTP"]), bytesPerSecond: 20))
        #expect(rules[2].condition == FaultCondition(session: 2))
        #expect(
            errors("fault at rcpt partial-reply \"451 x\" bytes 99" + anyRule) == [
                "smtpd.conf:1: invalid fault rule: a partial reply sends 1 to 6 bytes of this reply, not 99"
            ])
        #expect(
            errors("fault at rcpt reply \"451 x\" throttle 0" + anyRule) == [
                "smtpd.conf:1: invalid fault rule: throttle must be 1 to 1000000 bytes per second, not 0"
            ])
    }

    @Test func withoutFaultStatementsThereAreNone() throws {
        let configuration = try parse("listen on lo" + anyRule)
        #expect(configuration.faults.isEmpty)
        #expect(configuration.faultSeed == nil)
    }

    @Test func badFaultStatementsNameFileLineAndProblem() {
        let cases: [(String, String)] = [
            ("fault at quit reply \"421 x\"", "unknown fault stage \"quit\""),
            ("fault at rcpt reply \"45 x\"", "invalid fault reply \"45 x\""),
            ("fault at rcpt reply \"451 5.1.1 x\"", "is not of class 4"),
            ("fault at rcpt reply", "expected a quoted reply"),
            ("fault at rcpt delay 5", "invalid fault delay: 5"),
            ("fault at rcpt delay 5h", "invalid fault delay: 5h"),
            ("fault at rcpt accept-and-drop", "accept-and-drop is only possible at after-data"),
            ("fault at helo disconnect for sender a@b", "no sender is known at helo"),
            ("fault at mail disconnect probability 2", "invalid probability: 2"),
            ("fault at mail disconnect probability 0.1 probability 0.2", "probability given twice"),
            ("fault at rcpt disconnect for session 0", "invalid session number: 0"),
            ("fault at rcpt disconnect for colour red", "expected sender, rcpt, client"),
            ("fault seed minus", "invalid fault seed: minus"),
            ("fault rcpt reply \"451 x\"", "expected at or seed"),
            (
                "fault at rcpt explode",
                "expected reply, partial-reply, delay, disconnect or accept-and-drop"
            ),
        ]
        for (line, problem) in cases {
            let found = errors("listen on lo\n" + line + anyRule)
            #expect(found.count == 1, "\(line): \(found)")
            #expect(
                found.first?.hasPrefix("smtpd.conf:2: ") == true
                    && found.first?.contains(problem) == true, "\(line): \(found)")
        }
    }
}
