import LinuxSystem
import MailLabTestSupport
import SMTPProtocol
import Synchronization
import Testing

@testable import MailQueue

/// Delay warnings (`bounce warn-interval`) through the queue, against a next hop on loopback
/// that answers 451 to every RCPT until told to accept: one warning per interval, none
/// after delivery, none for `<>`, none again after a restart.
@Suite struct DelayWarningTests {
    /// What the queue handed to its bounce router.
    final class Notices: Sendable {
        let list = Mutex<[(to: String, text: String)]>([])
        var all: [(to: String, text: String)] { list.withLock { $0 } }
    }

    /// Set by the test, read by the next hop's threads.
    final class Switch: Sendable {
        private let value = Mutex(false)
        var isOn: Bool { value.withLock { $0 } }
        func turnOn() { value.withLock { $0 = true } }
    }

    /// 451 at RCPT until `accepting`, then a normal next hop; counts what it took.
    static func greylister(accepting: Switch, messages: Counter)
        -> @Sendable (RawNextHop.Peer) -> Void
    {
        { peer in
            peer.write("220 grey.lab ESMTP\r\n")
            while let line = peer.readLine() {
                switch line.prefix(4).uppercased() {
                case "EHLO", "HELO": peer.write("250 grey.lab\r\n")
                case "MAIL", "RSET": peer.write("250 2.0.0 Ok\r\n")
                case "RCPT":
                    peer.write(
                        accepting.isOn
                            ? "250 2.1.5 Ok\r\n" : "451 4.7.1 Greylisted, try again\r\n")
                case "DATA":
                    peer.write("354 go\r\n")
                    while let body = peer.readLine(), body != "." {}
                    messages.add()
                    peer.write("250 2.0.0 queued\r\n")
                case "QUIT":
                    peer.write("221 2.0.0 Bye\r\n")
                    return
                default: peer.write("502 5.5.2 what\r\n")
                }
            }
        }
    }

    static func message(_ id: UInt32, from sender: ReversePath) -> QueuedMessage {
        let now = Clock.unixSeconds()
        return QueuedMessage(
            id: id, sender: sender, created: now, expires: now + 3_600,
            recipients: [
                QueuedRecipient(
                    address: MailAddress(localPart: "bob", domain: "rot.lab"), action: "out")
            ])
    }

    static func queue(
        root: String, port: UInt16, intervals: [Int], notices: Notices, log: RelayReviewTests.Lines
    ) throws -> RelayQueue {
        var settings = RelayQueue.Configuration(
            spool: root, routes: ["out": RelayRoute(nextHop: .host("127.0.0.1", port: port))],
            serverName: "blau.lab")
        settings.retryMin = 1
        settings.retryMax = 1
        settings.bounceWarnIntervals = intervals
        settings.log = { line in log.lines.withLock { $0.append(line) } }
        return try RelayQueue(settings) { recipient, content, done in
            notices.list.withLock {
                $0.append((recipient.description, String(decoding: content, as: UTF8.self)))
            }
            done(true)
        }
    }

    static func store(_ message: QueuedMessage, as name: String, in root: String, subject: String)
        throws
    {
        try FileSystem.writeFile(
            root + "/new/" + name,
            QueueFileCodec.encode(message, content: Array("Subject: \(subject)\n\nhi\n".utf8)))
    }

    @Test func aDeferredRecipientWarnsOncePerIntervalNotAfterDeliveryAndNeverForTheNullSender()
        throws
    {
        let accepting = Switch()
        let messages = Counter()
        let hop = try RawNextHop(Self.greylister(accepting: accepting, messages: messages))
        defer { hop.stop() }
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-delay")
        defer { FileSystem.removeTree(root) }
        let notices = Notices()
        let log = RelayReviewTests.Lines()
        let queue = try Self.queue(
            root: root, port: hop.port, intervals: [2, 4], notices: notices, log: log)
        queue.start()
        defer { queue.stop() }
        let fromAlice = Self.message(1, from: .address(RelayReviewTests.alice))
        let fromNull = Self.message(2, from: .null)
        try Self.store(fromAlice, as: "m1", in: root, subject: "alice's")
        try Self.store(fromNull, as: "m2", in: root, subject: "a bounce")
        queue.enqueued(path: root + "/new/m1", message: fromAlice)
        queue.enqueued(path: root + "/new/m2", message: fromNull)
        #expect(
            eventually(within: 15) { notices.all.count >= 2 },
            "\(log.all.joined(separator: "\n"))")
        // Past the last interval: deferred on, no third warning.
        let deferrals = log.all.filter { $0.contains("m1 to=<bob@rot.lab> deferred") }.count
        #expect(
            eventually(within: 6) {
                log.all.filter { $0.contains("m1 to=<bob@rot.lab> deferred") }.count
                    >= deferrals + 2
            })
        let warnings = notices.all
        #expect(warnings.count == 2, "\(warnings.map(\.text))")
        #expect(warnings.allSatisfy { $0.to == "alice@gruen.lab" })
        #expect(warnings.allSatisfy { !$0.text.contains("Subject: a bounce") })
        #expect(warnings.first?.text.contains("delayed for more than 2 seconds") == true)
        #expect(warnings.last?.text.contains("delayed for more than 4 seconds") == true)
        for warning in warnings {
            #expect(warning.text.contains("\nAction: delayed\nStatus: 4.7.1\n"), "\(warning.text)")
            #expect(warning.text.contains("Subject: alice's"))
        }
        accepting.turnOn()
        #expect(eventually(within: 10) { messages.count == 2 }, "\(log.all)")
        #expect(eventually(within: 5) { queue.envelopes().isEmpty })
        Clock.sleep(seconds: 1.5)
        #expect(notices.all.count == 2)
    }

    @Test func aRestartedQueueDoesNotWarnAgainForAnIntervalItAlreadyWarned() throws {
        let accepting = Switch()
        let hop = try RawNextHop(Self.greylister(accepting: accepting, messages: Counter()))
        defer { hop.stop() }
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-delay")
        defer { FileSystem.removeTree(root) }
        let message = Self.message(3, from: .address(RelayReviewTests.alice))
        let first = Notices()
        do {
            let log = RelayReviewTests.Lines()
            let queue = try Self.queue(
                root: root, port: hop.port, intervals: [2], notices: first, log: log)
            try Self.store(message, as: "m3", in: root, subject: "again")
            queue.start()
            queue.enqueued(path: root + "/new/m3", message: message)
            #expect(eventually(within: 10) { first.all.count == 1 }, "\(log.all)")
            // The warning is recorded in the spool file once it is stored.
            #expect(
                eventually(within: 5) {
                    let bytes = (try? FileSystem.readFile(root + "/new/m3", limit: 1 << 20)) ?? []
                    let stored = try? QueueFileCodec.decode(bytes).message
                    return stored?.recipients.first?.lastWarning == message.created + 2
                })
            queue.stop()
        }
        let again = Notices()
        let log = RelayReviewTests.Lines()
        let queue = try Self.queue(
            root: root, port: hop.port, intervals: [2], notices: again, log: log)
        queue.start()
        defer { queue.stop() }
        // Deferred twice more after the restart (each a chance to warn), and no warning.
        #expect(
            eventually(within: 8) {
                log.all.filter { $0.contains("m3 to=<bob@rot.lab> deferred") }.count >= 2
            }, "\(log.all)")
        #expect(again.all.isEmpty, "\(again.all.map(\.text))")
        #expect(first.all.count == 1)
    }
}

/// A bounce quotes the queued message from its spool file: the header section alone by
/// default, the whole message with RET=FULL.
@Suite struct SpooledBounceTests {
    /// Refuses every recipient for good.
    static let refuser: @Sendable (RawNextHop.Peer) -> Void = { peer in
        peer.write("220 no.lab ESMTP\r\n")
        while let line = peer.readLine() {
            switch line.prefix(4).uppercased() {
            case "EHLO", "HELO": peer.write("250 no.lab\r\n")
            case "MAIL", "RSET": peer.write("250 2.0.0 Ok\r\n")
            case "RCPT": peer.write("550 5.1.1 no such user\r\n")
            case "QUIT":
                peer.write("221 2.0.0 Bye\r\n")
                return
            default: peer.write("503 5.5.1 no\r\n")
            }
        }
    }

    @Test(arguments: [false, true])
    func aBounceQuotesTheSpooledHeaderOrWithRetFullTheWholeMessage(full: Bool) throws {
        let hop = try RawNextHop(Self.refuser)
        defer { hop.stop() }
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-bounce")
        defer { FileSystem.removeTree(root) }
        let notices = DelayWarningTests.Notices()
        let log = RelayReviewTests.Lines()
        let queue = try DelayWarningTests.queue(
            root: root, port: hop.port, intervals: [], notices: notices, log: log)
        queue.start()
        defer { queue.stop() }
        var message = DelayWarningTests.message(7, from: .address(RelayReviewTests.alice))
        message.dsn.ret = full ? .full : nil
        try DelayWarningTests.store(message, as: "m7", in: root, subject: "quoted")
        queue.enqueued(path: root + "/new/m7", message: message)
        #expect(eventually(within: 10) { notices.all.count == 1 }, "\(log.all)")
        let text = notices.all.first?.text ?? ""
        #expect(text.contains("Subject: quoted\n"), "\(text)")
        // The body ("hi") follows the header only with RET=FULL.
        #expect(text.contains("Subject: quoted\n\nhi\n") == full, "\(text)")
    }
}
