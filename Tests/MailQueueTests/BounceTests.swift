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
                    for: message, failures: [Self.failure(message, "550 5.1.1 no such user")],
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
                    for: message, failures: [Self.failure(message, "554 no")],
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
                for: message, failures: [Self.failure(message, "550 x")], reportingMTA: "g",
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
}
