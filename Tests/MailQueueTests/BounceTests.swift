import SMTPProtocol
import Testing

@testable import MailQueue

/// RFC 3464 notifications: the three parts, what comes back per RET, who gets none.
@Suite struct BounceTests {
    static func failure(_ message: QueuedMessage, _ text: String) -> Bounce.Failure {
        Bounce.Failure(
            recipient: message.recipients[0], status: Bounce.status(of: text), diagnostic: text,
            remoteMTA: "10.0.0.2")
    }

    @Test func aNotificationHasTheReportTheStatusAndTheOriginalHeader() throws {
        let message = QueueFileCodecTests.sample
        let text = String(
            decoding: try #require(
                Bounce.compose(
                    for: message, original: QueueFileCodecTests.content,
                    failures: [Self.failure(message, "550 5.1.1 no such user")],
                    reportingMTA: "gruen.lab", now: 1_764_763_500, notificationID: "abcd0123")),
            as: UTF8.self)
        #expect(
            text.hasPrefix(
                "From: Mail Delivery Subsystem <MAILER-DAEMON@gruen.lab>\nTo: alice@gruen.lab\n"))
        #expect(
            text.contains(
                "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"abcd0123/gruen.lab\"\n"
            ))
        #expect(
            text.contains(
                "\n--abcd0123/gruen.lab\nContent-Description: Delivery Status\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; gruen.lab\nOriginal-Envelope-Id: QQ+x\n"
            ))
        #expect(
            text.contains(
                "\nFinal-Recipient: rfc822; bob@rot.lab\nOriginal-Recipient: rfc822; bob@rot.lab\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; 10.0.0.2\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n"
            ))
        // RET=HDRS: the header only, not the body.
        #expect(
            text.contains(
                "Content-Type: text/rfc822-headers\n\nReceived: from x\nSubject: hi\n\n--abcd0123/gruen.lab--\n"
            ))
        #expect(!text.contains("body"))
    }

    @Test func retFullReturnsTheWholeMessage() throws {
        var message = QueueFileCodecTests.sample
        message.dsn.ret = .full
        let text = String(
            decoding: try #require(
                Bounce.compose(
                    for: message, original: QueueFileCodecTests.content,
                    failures: [Self.failure(message, "554 no")],
                    reportingMTA: "g", now: 0, notificationID: "1")), as: UTF8.self)
        #expect(
            text.contains(
                "Content-Type: message/rfc822\n\nReceived: from x\nSubject: hi\n\nbody\n.\n\n--1/g--\n"
            ))
        #expect(text.contains("Status: 5.0.0\n"))
    }

    @Test func theNullSenderAndNotifyNeverGetNone() {
        var message = QueueFileCodecTests.sample
        message.sender = .null
        #expect(
            Bounce.compose(
                for: message, original: QueueFileCodecTests.content,
                failures: [Self.failure(message, "550 x")], reportingMTA: "g",
                now: 0, notificationID: "1") == nil)
        var recipient = message.recipients[0]
        recipient.dsn.notify = [.never]
        #expect(!Bounce.wantsFailureNotice(recipient))
        recipient.dsn.notify = [.delay]
        #expect(!Bounce.wantsFailureNotice(recipient))
        recipient.dsn.notify = []
        #expect(Bounce.wantsFailureNotice(recipient))
    }

    @Test(arguments: [
        ("550 5.1.1 no", "5.1.1"), ("4.4.7 Delivery time expired", "4.4.7"), ("451 later", "4.0.0"),
        ("550 no such user", "5.0.0"), ("550 5.1 x", "5.0.0"),
    ])
    func statusComesFromTheEnhancedCode(text: String, status: String) {
        #expect(Bounce.status(of: text) == status)
    }

    /// The sample's bob, deferred: arrived at `created`, next attempt at `created + next`.
    static func deferred(next: Int64, lastWarning: Int64 = 0) -> (QueuedMessage, QueuedRecipient) {
        var message = QueueFileCodecTests.sample
        message.recipients[0].nextTry = message.created + next
        message.recipients[0].lastWarning = lastWarning
        return (message, message.recipients[0])
    }

    @Test func aDelayWarningSaysDelayedWithATemporaryStatusAndTheRetryLimit() throws {
        let message = QueueFileCodecTests.sample
        let delayed = Bounce.Failure(
            recipient: message.recipients[0],
            status: Bounce.delayStatus(of: message.recipients[0].lastError),
            diagnostic: message.recipients[0].lastError)
        let text = String(
            decoding: try #require(
                Bounce.compose(
                    for: message, original: QueueFileCodecTests.content, failures: [delayed],
                    reportingMTA: "gruen.lab",
                    now: 1_764_777_600, notificationID: "abcd0123",
                    delay: Bounce.Delay(interval: 4 * 3_600, retryUntil: message.expires))),
            as: UTF8.self)
        #expect(text.contains("\nSubject: Delivery status notification: delayed\n"))
        #expect(
            text.contains(
                "Your message is delayed for more than 4 hours for the following recipients:\n    <bob@rot.lab>: 421 4.4.2 connection closed - 100% gone\n"
            ), "\(text)")
        #expect(text.contains("for up to 4 days and is tried again"), "\(text)")
        #expect(
            text.contains(
                "\nFinal-Recipient: rfc822; bob@rot.lab\nOriginal-Recipient: rfc822; bob@rot.lab\nAction: delayed\nStatus: 4.4.2\nDiagnostic-Code: smtp; 421 4.4.2 connection closed - 100% gone\nLast-Attempt-Date: "
            ), "\(text)")
        #expect(
            text.contains(
                "\nWill-Retry-Until: \(DateText.format(unixSeconds: message.expires))\n"))
        #expect(!text.contains("Action: failed"))
        // A connection failure has no code: still a temporary status.
        #expect(Bounce.delayStatus(of: "Connection refused") == "4.0.0")
        #expect(Bounce.delayStatus(of: "550 5.1.1 x") == "4.0.0")
    }

    @Test func aBounceStillSaysFailedAndError() throws {
        let message = QueueFileCodecTests.sample
        let text = String(
            decoding: try #require(
                Bounce.compose(
                    for: message, original: QueueFileCodecTests.content,
                    failures: [Self.failure(message, "550 5.1.1 no")],
                    reportingMTA: "g", now: 0, notificationID: "1")), as: UTF8.self)
        #expect(text.contains("Subject: Delivery status notification: error\n"))
        #expect(!text.contains("Will-Retry-Until") && !text.contains("temporary failure report"))
    }

    @Test(arguments: [
        // (next attempt after arrival, last warning point, intervals, due)
        (Int64(3_599), Int64(0), [3_600], Int?.none),  // tried again before the point
        (3_600, 0, [3_600], 3_600),  // not before it: warned now, as OpenSMTPD
        (9_000, 0, [3_600, 7_200], 3_600),  // one per failure, the first first
        (9_000, 3_600, [3_600, 7_200], 7_200),  // the first already warned
        (9_000, 7_200, [3_600, 7_200], nil),  // both warned
        (400_000, 0, [400_000], nil),  // at or after expiry: the bounce says it
        (9_000, 0, [], nil),
    ])
    func theDueWarningIsTheFirstIntervalNotYetWarned(
        next: Int64, warnedAfter: Int64, intervals: [Int], due: Int?
    ) {
        let (message, recipient) = Self.deferred(
            next: next,
            lastWarning: warnedAfter == 0 ? 0 : QueueFileCodecTests.sample.created + warnedAfter)
        #expect(
            Bounce.dueDelayWarning(
                for: recipient, of: message, intervals: intervals, expires: message.expires) == due
        )
    }

    @Test func notifyNeverNotifyWithoutDelayTheNullSenderAndDoneRecipientsGetNoWarning() {
        var (message, recipient) = Self.deferred(next: 5_000)
        func due() -> Int? {
            Bounce.dueDelayWarning(
                for: recipient, of: message, intervals: [3_600], expires: message.expires)
        }
        #expect(due() == 3_600)  // NOTIFY=FAILURE,DELAY
        recipient.dsn.notify = []
        #expect(due() == 3_600)
        recipient.dsn.notify = [.never]
        #expect(due() == nil)
        recipient.dsn.notify = [.failure]
        #expect(due() == nil)
        recipient.dsn.notify = [.success, .failure]
        #expect(due() == nil)
        recipient.dsn.notify = [.delay]
        #expect(due() == 3_600)
        recipient.state = .delivered
        #expect(due() == nil)
        recipient.state = .pending
        message.sender = .null
        #expect(due() == nil)
    }

    @Test(arguments: [
        (Int64(1), "1 second"), (59, "59 seconds"), (120, "2 minutes"), (3_600, "1 hour"),
        (14_400, "4 hours"), (86_400, "1 day"), (345_600, "4 days"),
    ])
    func durationsAreWrittenAsOpenSMTPDWritesThem(seconds: Int64, text: String) {
        #expect(Bounce.duration(seconds) == text)
    }
}
