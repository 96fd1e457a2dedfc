import LinuxSystem
import MailLabTestSupport
import SMTPProtocol
import Testing

@testable import MailQueue

/// `mta max-deferred N`: recipients deferred at a destination, at most N, go again as soon
/// as a delivery there succeeds; the others wait for their retry (OpenSMTPD's mta hoststat
/// cache).
@Suite struct MaxDeferredTests {
    @Test(arguments: [2, 0])
    func aDeliveryMakesAtMostMaxDeferredWaitingRecipientsDueAtOnce(maxDeferred: Int) throws {
        let accepting = DelayWarningTests.Switch()
        let messages = Counter()
        let hop = try RawNextHop(
            DelayWarningTests.greylister(accepting: accepting, messages: messages))
        defer { hop.stop() }
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-maxdef")
        defer { FileSystem.removeTree(root) }
        let log = RelayReviewTests.Lines()
        var settings = RelayQueue.Configuration(
            spool: root, routes: ["out": RelayRoute(nextHop: .host("127.0.0.1", port: hop.port))],
            serverName: "blau.lab")
        // A retry far beyond the test: only the destination's success brings one back.
        settings.retryMin = 600
        settings.retryMax = 600
        settings.bounceWarnIntervals = []
        settings.maxDeferred = maxDeferred
        settings.log = { line in log.lines.withLock { $0.append(line) } }
        let queue = try RelayQueue(settings) { _, _, done in done(true) }
        queue.start()
        defer { queue.stop() }
        func enqueue(_ id: UInt32) throws {
            let message = DelayWarningTests.message(id, from: .address(RelayReviewTests.alice))
            try DelayWarningTests.store(message, as: "m\(id)", in: root, subject: "m\(id)")
            queue.enqueued(path: root + "/new/m\(id)", message: message)
        }
        for id: UInt32 in 1...3 { try enqueue(id) }
        #expect(
            eventually(within: 10) {
                log.all.filter { $0.contains(" deferred: 451 4.7.1") }.count == 3
            }, "\(log.all)")
        accepting.turnOn()
        try enqueue(4)
        #expect(eventually(within: 10) { messages.count >= 1 + maxDeferred }, "\(log.all)")
        Clock.sleep(seconds: 1.5)
        #expect(messages.count == 1 + maxDeferred, "\(log.all)")
        #expect(queue.envelopes().count == 3 - maxDeferred)
        #expect(queue.envelopes().allSatisfy { $0.retries == 1 && !$0.inFlight })
    }
}
