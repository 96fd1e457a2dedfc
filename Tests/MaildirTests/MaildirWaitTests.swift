import Foundation
import LinuxSystem
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

/// `wait` against real deliveries by the MaildirWriter from another thread.
@Suite struct MaildirWaitTests {
    @Test func returnsAsSoonAsTheNthMessageLands() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let lastStarted = ClockBox()
        let deliverer = Thread {
            for number in 1...3 {
                Thread.sleep(forTimeInterval: 0.15)
                let item = DeliveryItem(
                    maildir: scratch.path, chunks: [bytes("Subject: \(number)\r\n\r\nx\r\n")])
                if number == 3 { lastStarted.set(Maildir.monotonicMilliseconds()) }
                _ = deliverAndWait(writer, [item])
            }
        }
        deliverer.start()

        let result = try maildir.wait(forCount: 3, timeout: .seconds(20))

        let returned = Maildir.monotonicMilliseconds()
        #expect(result == MaildirWaitResult(count: 3, reached: true))
        let third = try #require(lastStarted.get())
        #expect(returned >= third, "returned before the third delivery started")
        // One delivery (write, fsync, link, fsync of new/) plus the wake-up; far below the
        // 250 ms re-check that would catch a missed inotify event on a loaded machine.
        #expect(returned - third < 1000)
        #expect(try maildir.count() == 3)
    }

    @Test func timesOutWithTheCountSeen() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        let start = Maildir.monotonicMilliseconds()

        let result = try maildir.wait(forCount: 1, timeout: .milliseconds(200))

        let elapsed = Maildir.monotonicMilliseconds() - start
        #expect(result == MaildirWaitResult(count: 0, reached: false))
        #expect(elapsed >= 200 && elapsed < 5000)
    }

    @Test func waitsForAMaildirThatDoesNotExistYet() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let root = scratch.path + "/later/Maildir"
        let maildir = Maildir(root: root)
        #expect(throws: SystemError.self) { try maildir.count() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let deliverer = Thread {
            Thread.sleep(forTimeInterval: 0.1)
            _ = deliverAndWait(writer, [DeliveryItem(maildir: root, chunks: [bytes("\r\nx\r\n")])])
        }
        deliverer.start()

        let result = try maildir.wait(forCount: 1, timeout: .seconds(20))

        #expect(result == MaildirWaitResult(count: 1, reached: true))
    }

    @Test func countsMessagesMovedToCur() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        #expect(FileManager.default.createFile(atPath: maildir.new + "/1.M1P1Q1.h", contents: nil))
        #expect(
            FileManager.default.createFile(atPath: maildir.cur + "/2.M1P1Q2.h:2,S", contents: nil))
        #expect(FileManager.default.createFile(atPath: maildir.cur + "/.hidden", contents: nil))
        #expect(FileManager.default.createFile(atPath: maildir.tmp + "/3.M1P1Q3.h", contents: nil))

        #expect(try maildir.count() == 2)
        #expect(try maildir.count(folders: [.cur]) == 1)
        #expect(
            try maildir.wait(forCount: 2, timeout: .zero)
                == MaildirWaitResult(count: 2, reached: true))
        #expect(try maildir.wait(forCount: 0, timeout: .zero).reached)
    }
}

final class ClockBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64?
    func set(_ new: Int64) { lock.withLock { value = new } }
    func get() -> Int64? { lock.withLock { value } }
}
