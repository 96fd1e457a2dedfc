import Glibc
import LinuxSystem
import MailLabTestSupport
import MaildirDelivery
import Synchronization
import Testing

@testable import MailQueue

/// A kill of smtpd in the middle of a spool update, at every step of it: the spool is copied
/// just before each step (a SIGKILL leaves the page cache, so the copy is what the next start
/// finds), and the next start's recovery (the tmp/ sweep, then the queue) must find the
/// message once, with its old or its new envelope; a removal, once until its new/ name goes
/// and never after.
@Suite struct QueueSpoolKillTests {
    /// A spool whose one message the writer delivered in `.syncfs` mode and whose flush has
    /// not yet come: new/NAME, and its tmp/ twin `NAME,S=<size>` (docs/DURABILITY.md, step 4),
    /// named for a writer that is gone, as after a restart.
    final class Spool: Sendable {
        let base: String
        let root: String
        let name: String
        let snapshots = Mutex<[(step: String, root: String)]>([])

        init() throws {
            base = try FileSystem.makeTemporaryDirectory(prefix: "mlt-spoolkill")
            root = base + "/spool"
            name = "\(time(nil)).M1P\(try exitedPID())Q1.h"
            do { _ = try QueueSpool(root: root) }  // its folders, then unlocked
            let bytes = QueueFileCodec.encode(
                QueueFileCodecTests.sample, content: QueueFileCodecTests.content)
            try FileSystem.writeFile(root + "/new/" + name, bytes)
            let twin = Maildir.temporaryName(ofDelivered: name, size: bytes.count)
            try #require(link(root + "/new/" + name, root + "/tmp/" + twin) == 0)
        }

        /// The spool, with a copy of it (hard links kept: `cp -a`) taken before each step.
        func recordingSpool() throws -> QueueSpool {
            try QueueSpool(root: root, descriptor: nil) { [self] step in
                let copy = base + "/kill\(snapshots.withLock { $0.count })"
                let result = try? runToEnd("/bin/cp", ["-a", root, copy], timeout: 30)
                #expect(result?.status == 0, "cp -a before \(step): \(result?.errors ?? "")")
                snapshots.withLock { $0.append((step, copy)) }
            }
        }

        /// What the next start resumes from `copy`: the sweep first, as smtpd runs it, then
        /// the queue's reading of new/.
        func resumed(_ copy: String) throws -> [(name: String, message: QueuedMessage)] {
            _ = try Maildir(root: copy).sweepTemporaryFiles(hostname: "h")
            let spool = try QueueSpool(root: copy)
            return try spool.names().map { name in
                #expect(
                    try spool.content(name).all() == QueueFileCodecTests.content,
                    "\(copy)/new/\(name)")
                return (name, try QueueFileCodec.decode(spool.envelope(name)).message)
            }
        }

        func remove() { FileSystem.removeTree(base) }
    }

    @Test func aKillAtAnyStepOfARewriteLeavesTheMessageOnceWithTheOldOrTheNewEnvelope() throws {
        let spool = try Spool()
        defer { spool.remove() }
        var changed = QueueFileCodecTests.sample
        changed.recipients[0].attempts += 1
        try spool.recordingSpool().rewrite(spool.name, envelope: QueueFileCodec.envelope(changed))

        let snapshots = spool.snapshots.withLock { $0 }
        #expect(snapshots.map(\.step).contains("unlink tmp/\(spool.name),S=\(snapshotSize)"))
        #expect(snapshots.count == 5, "\(snapshots.map(\.step))")
        for (step, copy) in snapshots {
            let resumed = try spool.resumed(copy)
            #expect(resumed.map(\.name) == [spool.name], "killed before \(step)")
            let message = try #require(resumed.first?.message)
            #expect(
                message == QueueFileCodecTests.sample || message == changed,
                "killed before \(step): \(message)")
        }
        #expect(try spool.resumed(spool.root).first?.message == changed)
    }

    @Test func aKillAtAnyStepOfARemovalNeverBringsBackWhatLeftNew() throws {
        let spool = try Spool()
        defer { spool.remove() }
        try spool.recordingSpool().remove(spool.name)

        let snapshots = spool.snapshots.withLock { $0 }
        #expect(snapshots.map(\.step).last == "done")
        for (step, copy) in snapshots {
            // Gone from new/, gone for good: its tmp/ twin must not bring it back (its
            // recipients would get it again).
            let listed = FileSystem.exists(copy + "/new/" + spool.name)
            let resumed = try spool.resumed(copy)
            #expect(resumed.count == (listed ? 1 : 0), "killed before \(step)")
        }
        #expect(snapshots.map(\.step).count == 3, "\(snapshots.map(\.step))")
    }

    /// The queue file's size, which the twin's name carries.
    var snapshotSize: Int {
        QueueFileCodec.encode(QueueFileCodecTests.sample, content: QueueFileCodecTests.content)
            .count
    }
}
