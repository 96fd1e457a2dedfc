import Glibc
import LinuxSystem
import MailLabTestSupport
import SMTPClient
import SMTPProtocol
import Synchronization
import Testing

@testable import MailQueue

/// The relay review's findings, each against a next hop on loopback that misbehaves on
/// purpose (`RawNextHop`) or as pure logic.
@Suite struct RelayReviewTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    static let alice = MailAddress(localPart: "alice", domain: "gruen.lab")

    static func message(_ id: UInt32, to recipients: [(String, String)]) -> QueuedMessage {
        let now = Clock.unixSeconds()
        return QueuedMessage(
            id: id, sender: .address(alice), created: now, expires: now + 3_600,
            recipients: recipients.map {
                QueuedRecipient(
                    address: MailAddress(localPart: $0.0, domain: "rot.lab"), action: $0.1)
            })
    }

    /// Writes `message`'s spool file under `name`, then hands it to `queue`, as the writer
    /// and the store do.
    static func enqueue(
        _ queue: RelayQueue, _ root: String, _ name: String, _ message: QueuedMessage
    )
        throws
    {
        try FileSystem.writeFile(
            root + "/new/" + name,
            QueueFileCodec.encode(message, content: Array("Subject: t\n\nhi\n".utf8)))
        queue.enqueued(path: root + "/new/" + name, message: message)
    }

    /// A queue on a fresh spool with `routes`; `adjust` changes the settings.
    static func queue(
        _ routes: [String: RelayRoute], log: Lines,
        adjust: (inout RelayQueue.Configuration) -> Void = { _ in }
    ) throws -> (RelayQueue, String) {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-review")
        var settings = RelayQueue.Configuration(spool: root, routes: routes, serverName: "blau.lab")
        settings.retryMin = 30
        settings.retryMax = 60
        settings.log = { line in log.lines.withLock { $0.append(line) } }
        adjust(&settings)
        let queue = try RelayQueue(settings) { _, _, done in done(true) }
        return (queue, root)
    }

    /// A next hop that sends its banner one byte every 0.3 s never completes a reply within
    /// the reply timeout: the attempt ends by it, not after the last byte.
    @Test func aNextHopDrippingBytesIsCutOffByTheReplyDeadline() throws {
        let drip = try RawNextHop { peer in
            for byte in "220 slow.lab ESMTP but very very very very slowly\r\n" {
                guard peer.write(String(byte)) else { return }
                Clock.sleep(seconds: 0.3)
            }
        }
        defer { drip.stop() }
        let log = Lines()
        let (queue, root) = try Self.queue(
            ["out": RelayRoute(nextHop: .host("127.0.0.1", port: drip.port))], log: log
        ) {
            $0.replyTimeout = 1.5
            $0.connectTimeout = 1.5
        }
        defer { FileSystem.removeTree(root) }
        queue.start()
        defer { queue.stop() }
        let started = Clock.monotonicSeconds()
        try Self.enqueue(queue, root, "m1", Self.message(1, to: [("bob", "out")]))
        #expect(
            eventually(within: 8) { log.all.contains { $0.contains("deferred") } }, "\(log.all)")
        #expect(Clock.monotonicSeconds() - started < 5, "\(log.all)")
        #expect(log.all.contains { $0.contains("timeout waiting for 127.0.0.1") }, "\(log.all)")
    }

    /// Delivery threads over all destinations together stay under the global cap.
    @Test(arguments: [1, 3])
    func deliveryThreadsStayUnderTheGlobalCap(cap: Int) throws {
        let holders = try (0..<3).map { _ in
            try RawNextHop { peer in _ = peer.readLine() }  // accepts, never greets
        }
        defer { holders.forEach { $0.stop() } }
        var routes: [String: RelayRoute] = [:]
        for (index, hop) in holders.enumerated() {
            routes["a\(index)"] = RelayRoute(nextHop: .host("127.0.0.1", port: hop.port))
        }
        let log = Lines()
        let (queue, root) = try Self.queue(routes, log: log) {
            $0.maxConnections = cap
            $0.replyTimeout = 30
        }
        defer { FileSystem.removeTree(root) }
        queue.start()
        defer { queue.stop(graceSeconds: 0) }
        for index in 0..<3 {
            try Self.enqueue(
                queue, root, "m\(index)",
                Self.message(UInt32(index + 1), to: [("bob", "a\(index)")]))
        }
        _ = eventually(within: 1.5) { holders.reduce(0) { $0 + $1.accepted } >= 3 }
        #expect(holders.reduce(0) { $0 + $1.accepted } == cap)
    }

    /// After a connection to a destination failed, another message to it waits for the
    /// same retry instead of trying (and failing) at once.
    @Test func aFailedDestinationHoldsBackItsOtherMessages() throws {
        let dead = try RawNextHop { _ in }
        let port = dead.port
        dead.stop()  // nothing listens there any more: connections are refused
        let log = Lines()
        let (queue, root) = try Self.queue(
            ["out": RelayRoute(nextHop: .host("127.0.0.1", port: port))], log: log)
        defer { FileSystem.removeTree(root) }
        queue.start()
        defer { queue.stop() }
        try Self.enqueue(queue, root, "m1", Self.message(1, to: [("bob", "out")]))
        #expect(eventually(within: 5) { log.all.contains { $0.contains("deferred") } })
        try Self.enqueue(queue, root, "m2", Self.message(2, to: [("carol", "out")]))
        try Self.enqueue(queue, root, "m3", Self.message(3, to: [("dave", "out")]))
        Clock.sleep(seconds: 1)
        #expect(log.all.filter { $0.contains("deferred") }.count == 1, "\(log.all)")
        let waiting = queue.envelopes().filter { $0.retries == 0 }
        #expect(waiting.count == 2)
        #expect(waiting.allSatisfy { $0.nextTry > Clock.unixSeconds() }, "\(waiting)")
    }

    /// A session the next hop ended while it idled (here a 421 and a close after each
    /// message) is not reused: the next message opens a new one, with no deferral.
    @Test func aSessionTheNextHopClosedIsNotReused() throws {
        let messages = Counter()
        let hop = try RawNextHop(
            RawNextHop.smtp(
                messages: messages, afterMessage: "421 4.4.2 raw.lab closing\r\n", delay: 0.3,
                closeAfter: true))
        defer { hop.stop() }
        let log = Lines()
        let (queue, root) = try Self.queue(
            ["out": RelayRoute(nextHop: .host("127.0.0.1", port: hop.port))], log: log
        ) {
            $0.idleSeconds = 5
            $0.maxConnectionsPerDestination = 1  // one thread: its idle session is the one reused
        }
        defer { FileSystem.removeTree(root) }
        queue.start()
        defer { queue.stop() }
        try Self.enqueue(queue, root, "m1", Self.message(1, to: [("bob", "out")]))
        #expect(eventually(within: 5) { messages.count == 1 })
        Clock.sleep(seconds: 0.8)  // the 421 and the close came while the session idled
        try Self.enqueue(queue, root, "m2", Self.message(2, to: [("carol", "out")]))
        #expect(eventually(within: 5) { messages.count == 2 }, "\(log.all)")
        #expect(!log.all.contains { $0.contains("deferred") }, "\(log.all)")
        #expect(hop.accepted == 2, "\(log.all)")
    }

    /// Two actions, two lifetimes: each recipient expires by its own action's `ttl`.
    @Test func anActionsTTLAppliesToItsRecipientsOnly() throws {
        var short = RelayRoute(nextHop: .host("127.0.0.1", port: 9))
        short.ttl = 1
        let log = Lines()
        let (queue, root) = try Self.queue(
            ["short": short, "long": RelayRoute(nextHop: .host("127.0.0.1", port: 9))], log: log)
        defer { FileSystem.removeTree(root) }
        queue.pause()
        queue.start()
        defer { queue.stop() }
        var message = Self.message(1, to: [("bob", "short"), ("carol", "long")])
        message.created -= 5
        try Self.enqueue(queue, root, "m1", message)
        #expect(eventually(within: 3) { queue.envelopes().count == 1 }, "\(queue.envelopes())")
        #expect(queue.envelopes().first?.recipient == "carol@rot.lab")
    }
}

@Suite struct RelayPureReviewTests {
    static func mx(_ preference: Int, _ host: String, _ address: String, port: UInt16 = 25)
        -> MailExchanger
    {
        MailExchanger(preference: preference, host: host, addresses: [address], port: port)
    }

    @Test func anExchangerThatIsThisServerIsSkippedWithTheOnesAfterIt() throws {
        let list = [
            Self.mx(20, "blau.lab.", "10.0.0.2"), Self.mx(10, "rot.lab", "10.0.0.3"),
            Self.mx(30, "far.lab", "10.0.0.4"),
        ]
        let usable = ExchangerFilter.usable(
            list, backupName: nil, localNames: ["Blau.lab"], localEndpoints: [])
        #expect(try usable.get().map(\.host) == ["rot.lab"])
        let byAddress = ExchangerFilter.usable(
            [Self.mx(10, "x.lab", "127.0.0.1", port: 2525)], backupName: nil, localNames: [],
            localEndpoints: ["127.0.0.1 2525"])
        #expect(byAddress == .failure(.pointsToSelf))
        // The same address on another port is someone else.
        let otherPort = ExchangerFilter.usable(
            [Self.mx(10, "x.lab", "127.0.0.1", port: 25)], backupName: nil, localNames: [],
            localEndpoints: ["127.0.0.1 2525"])
        #expect(try otherPort.get().count == 1)
    }

    @Test func aBackupRelaysOnlyToExchangersPreferredOverIt() throws {
        let list = [
            Self.mx(10, "main.lab", "10.0.0.1"), Self.mx(20, "backup.lab", "10.0.0.2"),
            Self.mx(30, "far.lab", "10.0.0.3"),
        ]
        let usable = ExchangerFilter.usable(
            list, backupName: "backup.lab", localNames: [], localEndpoints: [])
        #expect(try usable.get().map(\.host) == ["main.lab"])
        let best = ExchangerFilter.usable(
            list, backupName: "main.lab", localNames: [], localEndpoints: [])
        #expect(best == .failure(.noneBelowBackup("main.lab")))
        let unlisted = ExchangerFilter.usable(
            list, backupName: "other.lab", localNames: [], localEndpoints: [])
        #expect(try unlisted.get().count == 3)
    }

    @Test func mailFromReplacesTheSendersPartsButNotTheNullSender() {
        var route = RelayRoute(nextHop: .mailExchangers)
        let alice = ReversePath.address(MailAddress(localPart: "alice", domain: "gruen.lab"))
        route.mailFrom = "@relay.lab"
        #expect(route.sender(for: alice).description == "alice@relay.lab")
        route.mailFrom = "bounces@relay.lab"
        #expect(route.sender(for: alice).description == "bounces@relay.lab")
        #expect(route.sender(for: .null) == .null)
    }

    static let server =
        "220 rot.lab ESMTP\r\n|250-rot.lab\r\n250 PIPELINING\r\n"
        + "|250 2.0.0 Ok\r\n550 5.1.1 bob: no such user\r\n450 4.2.1 carol: busy\r\n354 go\r\n"

    /// Every recipient refused, and yet the next hop says 354: no message goes out, the
    /// refusals stand as they were (5xx bounce, 4xx wait), and the connection closes.
    @Test func aDataGoAheadWithEveryRecipientRefusedSendsNothingAndKeepsTheRefusals() {
        var session = RelayClientSession(heloName: "blau.lab", tls: .never)
        var sent = ""
        var events: [RelayClientSession.Event] = []
        let transaction = RelayClientSession.Transaction(
            sender: .address(MailAddress(localPart: "alice", domain: "gruen.lab")),
            recipients: [
                MailAddress(localPart: "bob", domain: "rot.lab"),
                MailAddress(localPart: "carol", domain: "rot.lab"),
            ], content: RelayContent(Array("Subject: x\n\nsecret body\n".utf8)))
        func take(_ list: [RelayClientSession.Event]) {
            for event in list {
                if case .send(let bytes) = event {
                    sent += String(decoding: bytes, as: UTF8.self)
                } else {
                    events.append(event)
                    if event == .ready { take(session.begin(transaction)) }
                }
            }
        }
        for group in Self.server.split(separator: "|") { take(session.receive(Array(group.utf8))) }
        #expect(!sent.contains("secret body"))
        #expect(!sent.hasSuffix(".\r\n"))
        #expect(
            events == [
                .ready,
                .finished(
                    .init(replies: [
                        SMTPReply(code: 550, lines: ["5.1.1 bob: no such user"]),
                        SMTPReply(code: 450, lines: ["4.2.1 carol: busy"]),
                    ])), .closed,
            ])
    }

    static func file(attempts: String = "0", created: String = "1764763200") -> [UInt8] {
        Array(
            """
            maillab-queue 1
            id 0000002a
            created \(created)
            expires 1765108800
            sender alice@gruen.lab
            ret -
            envid -
            rcpt pending \(attempts) 0 0 out bob@rot.lab 0 - -
            end
            Subject: x

            hi

            """.utf8)
    }

    @Test func aSpoolFileWithNonsenseIsRefusedWithItsLine() throws {
        #expect(try QueueFileCodec.decode(Self.file()).message.recipients[0].attempts == 0)
        #expect(throws: QueueFileCodec.DecodeError(line: 8, reason: "negative attempts")) {
            try QueueFileCodec.decode(Self.file(attempts: "-3"))
        }
        #expect(throws: QueueFileCodec.DecodeError(line: 3, reason: "negative created time")) {
            try QueueFileCodec.decode(Self.file(created: "-1"))
        }
        #expect(throws: QueueFileCodec.DecodeError(line: 4, reason: "expires before created")) {
            try QueueFileCodec.decode(Self.file(created: "1865108800"))
        }
    }

    @Test func dsnFieldsAreXtextDecodedButNeverBreakALine() {
        #expect(Bounce.decodedField("a+2Bb@x.lab", "a+b@x.lab") == "a+b@x.lab")
        // "+0D+0ASubject: forged" decodes to a CR LF: the field stays as sent.
        #expect(
            Bounce.decodedField("x+0D+0ASubject:+20forged", "x\r\nSubject: forged")
                == "x+0D+0ASubject:+20forged")
        #expect(Bounce.decodedField("bad+ZZ", nil) == "bad+ZZ")
        let now = Clock.unixSeconds()
        let message = QueuedMessage(
            id: 1, sender: .address(MailAddress(localPart: "alice", domain: "gruen.lab")),
            created: now, expires: now, dsn: DSNRequest(envelopeID: "QQ+2B1"),
            recipients: [
                QueuedRecipient(
                    address: MailAddress(localPart: "bob", domain: "rot.lab"), action: "out",
                    dsn: RecipientDSN(originalRecipient: "rfc822;b+2Bo@rot.lab"), state: .failed)
            ])
        let failure = Bounce.Failure(
            recipient: message.recipients[0], status: "5.1.1", diagnostic: "550 5.1.1 no",
            remoteMTA: nil)
        let text = String(
            decoding: Bounce.compose(
                for: message, original: Array("Subject: x\n\nhi\n".utf8), failures: [failure],
                reportingMTA: "blau.lab", now: now,
                notificationID: "1") ?? [], as: UTF8.self)
        #expect(text.contains("Original-Envelope-Id: QQ+1\n"), "\(text)")
        #expect(text.contains("Original-Recipient: rfc822; b+o@rot.lab\n"), "\(text)")
    }
}
