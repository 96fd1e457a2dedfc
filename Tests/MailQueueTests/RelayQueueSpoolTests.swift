import Glibc
import LinuxSystem
import SMTPProtocol
import Synchronization
import Testing

@testable import MailQueue

/// The spool across restarts: what is in it is resumed, what cannot be read is left alone
/// and said, and a second queue cannot take a locked spool.
@Suite struct RelayQueueSpoolTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    static func configuration(_ spool: String, log: Lines? = nil)
        -> RelayQueue.Configuration
    {
        var settings = RelayQueue.Configuration(
            spool: spool,
            routes: ["relay out": RelayRoute(nextHop: .host("127.0.0.1", port: 9))],
            serverName: "blau.lab")
        if let log { settings.log = { line in log.lines.withLock { $0.append(line) } } }
        return settings
    }

    /// The error a second queue on `root` fails with; nil if it opened.
    static func lockError(_ root: String) -> SystemError? {
        do {
            _ = try RelayQueue(configuration(root)) { _, _, done in done(true) }
            return nil
        } catch {
            return error
        }
    }

    @Test func aQueueResumesItsSpoolAndLeavesBrokenFilesAlone() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-spool")
        defer { FileSystem.removeTree(root) }
        do {
            _ = try QueueSpool(root: root)  // creates tmp/ and new/, then unlocks
        }
        var message = QueueFileCodecTests.sample
        message.expires = Int64.max
        try FileSystem.writeFile(
            root + "/new/1.a.host",
            QueueFileCodec.encode(message, content: QueueFileCodecTests.content))
        try FileSystem.writeFile(root + "/new/2.b.host", Array("not a queue file\n".utf8))
        try FileSystem.writeFile(root + "/tmp/1.a.host.update", Array("half".utf8))
        let log = Lines()
        let queue = try RelayQueue(Self.configuration(root, log: log)) { _, _, done in done(true) }
        // Not started: nothing is attempted, the envelopes are as the file says.
        let envelopes = queue.envelopes()
        #expect(envelopes.map(\.recipient) == ["bob@rot.lab"])  // the delivered one is not listed
        #expect(envelopes.first?.retries == 3)
        #expect(envelopes.first?.id == UInt64(0x0a1b_2c3d) << 32)
        #expect(envelopes.first?.destination == "smtp://127.0.0.1:9")
        #expect(
            log.all.contains {
                $0.contains("2.b.host left alone: line 1: not a MailLab queue file")
            })
        #expect(log.all.contains("info: queue: resumed 1 message(s) from \(root)"))
        #expect(FileSystem.exists(root + "/new/2.b.host"))
        #expect(!FileSystem.exists(root + "/tmp/1.a.host.update"))  // an interrupted update

        #expect(Self.lockError(root) == SystemError("flock", root + "/lock", errno: EWOULDBLOCK))
        _ = queue
    }

    @Test func removingEveryEnvelopeRemovesTheFileWithoutABounce() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-spool")
        defer { FileSystem.removeTree(root) }
        _ = try QueueSpool(root: root)
        var message = QueueFileCodecTests.sample
        message.expires = Int64.max
        message.recipients[0].nextTry = Int64.max
        try FileSystem.writeFile(
            root + "/new/1.a.host",
            QueueFileCodec.encode(message, content: QueueFileCodecTests.content))
        let bounces = Atomic<Int>(0)
        let queue = try RelayQueue(Self.configuration(root)) { _, _, done in
            bounces.add(1, ordering: .relaxed)
            done(true)
        }
        queue.start()
        defer { queue.stop() }
        #expect(queue.remove { _ in true } == 1)
        let deadline = Clock.monotonicSeconds() + 5
        while FileSystem.exists(root + "/new/1.a.host") && Clock.monotonicSeconds() < deadline {
            Clock.sleep(seconds: 0.02)
        }
        #expect(!FileSystem.exists(root + "/new/1.a.host"))
        #expect(queue.envelopes().isEmpty)
        #expect(bounces.load(ordering: .relaxed) == 0)
    }

    /// A spool someone else could have made or can write is refused, and nothing is written
    /// through a link planted in it (review: a user's /tmp spool let root overwrite files).
    @Test(arguments: ["world-writable", "symlinked tmp", "other owner", "symlinked root"])
    func aSpoolThatIsNotSmtpdsAloneIsRefusedAndNothingIsWrittenThroughIt(_ case: String) throws {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "mlt-spool")
        defer { FileSystem.removeTree(base) }
        let root = base + "/spool"
        let victim = base + "/victim"
        try FileSystem.writeFile(victim, Array("keep\n".utf8))
        mkdir(root, 0o700)
        switch `case` {
        case "world-writable": chmod(root, 0o777)
        case "symlinked tmp":
            mkdir(base + "/elsewhere", 0o700)
            symlink(base + "/elsewhere", root + "/tmp")
        case "other owner": chown(root, 65534, 65534)
        default:
            rmdir(root)
            mkdir(base + "/real", 0o700)
            symlink(base + "/real", root)
        }
        let error = Self.lockError(root)
        #expect(error?.operation == "refusing spool", "\(String(describing: error))")
        #expect(readText(victim) == "keep\n")
    }

    @Test func anUpdateNeverWritesThroughALinkPlantedInTmp() throws {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "mlt-spool")
        defer { FileSystem.removeTree(base) }
        let victim = base + "/victim"
        try FileSystem.writeFile(victim, Array("keep\n".utf8))
        let spool = try QueueSpool(root: base + "/spool")
        let sample = QueueFileCodecTests.sample
        try FileSystem.writeFile(
            base + "/spool/new/1.a.host",
            QueueFileCodec.encode(sample, content: QueueFileCodecTests.content))
        symlink(victim, base + "/spool/tmp/1.a.host" + QueueSpool.updateSuffix)
        var changed = sample
        changed.recipients[0].attempts += 1
        try spool.rewrite("1.a.host", envelope: QueueFileCodec.envelope(changed))
        #expect(readText(victim) == "keep\n")
        // The new envelope, the content as it was.
        #expect(
            try FileSystem.readFile(base + "/spool/new/1.a.host")
                == QueueFileCodec.encode(changed, content: QueueFileCodecTests.content))
    }

    func readText(_ path: String) -> String {
        String(decoding: (try? FileSystem.readFile(path)) ?? [], as: UTF8.self)
    }
}
