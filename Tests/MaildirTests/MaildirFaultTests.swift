import Foundation
import LinuxSystem
import MailLabTestSupport
import Synchronization
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

/// Error paths past the point where the file system can be made to fail on its own:
/// the writer's test hook fails chosen steps.
@Suite struct MaildirFaultTests {
    @Test(arguments: [FlushMode.perFile, .batchedFsync])
    func failedDataFsyncFailsOnlyItsCall(mode: FlushMode) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h", flushMode: mode) { operation, path in
            operation == "fsync" && path.contains("/bad/tmp/") ? EIO : nil
        }
        let box = ResultBox()
        let group = DispatchGroup()
        for root in ["/bad", "/good"] {
            group.enter()
            writer.deliver([DeliveryItem(maildir: scratch.path + root, chunks: [bytes(root)])]) {
                box.set($0)
                group.leave()
            }
        }
        group.wait()
        writer.shutdown()

        let failures = box.all.compactMap { result -> SystemError? in
            if case .failure(let error) = result { return error }
            return nil
        }
        #expect(failures.count == 1)
        #expect(failures.first?.operation == "fsync")
        #expect(failures.first?.object?.hasPrefix(scratch.path + "/bad/tmp/") == true)
        #expect(failures.first?.errno == EIO)
        #expect(names(in: scratch.path + "/bad/new").isEmpty)
        #expect(names(in: scratch.path + "/bad/tmp").isEmpty)
        #expect(names(in: scratch.path + "/good/new").count == 1)
    }

    /// The fsync modes flush new/ (`.syncfs` flushes no folder: see the syncfs tests below).
    @Test(arguments: [(FlushMode.perFile, "fsync"), (.batchedFsync, "fsync")])
    func failedFolderFlushTakesBackEveryFileOfTheCall(mode: FlushMode, operation: String) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let bad = scratch.path + "/bad"
        let good = scratch.path + "/good"
        let writer = MaildirWriter(hostname: "h", flushMode: mode) { step, path in
            step == operation && path == bad + "/new" ? EIO : nil
        }
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer,
            [
                DeliveryItem(maildir: bad, chunks: [bytes("1")]),
                DeliveryItem(maildir: good, chunks: [bytes("2")]),
            ])

        #expect(throws: SystemError(operation, bad + "/new", errno: EIO)) {
            try result.get()
        }
        for root in [bad, good] {
            #expect(names(in: root + "/new").isEmpty)
            #expect(names(in: root + "/tmp").isEmpty)
        }
    }

    /// One syncfs covers every file of the file system: its failure fails each call with a
    /// file there, and takes back all their files, in every Maildir.
    @Test func failedSyncfsFailsEveryCallOnThatFileSystem() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let (bad, good) = (scratch.path + "/bad", scratch.path + "/good")
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { operation, path in
            operation == "syncfs" && path.hasPrefix(bad + "/tmp/") ? ENOSPC : nil
        }
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer,
            [
                DeliveryItem(maildir: good, chunks: [[1]]),
                DeliveryItem(maildir: bad, chunks: [[2]]),
            ])

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.operation == "syncfs")
        #expect(error.errno == ENOSPC)
        for root in [bad, good] {
            #expect(names(in: root + "/tmp").isEmpty)
            #expect(names(in: root + "/new").isEmpty)
        }
    }

    /// `.syncfs` mode answers after one flush per message: the syncfs covers the file under
    /// its marked tmp/ name (`NAME,S=<size>`), and the link into new/ as `NAME` comes after
    /// it, unflushed (start-up recovery stands in for that flush). The tmp/ name goes only
    /// after a later flush has covered the new/ name: nothing orders the two folders' writes
    /// on the way to the disk, and an unlink durable before its link would lose the message.
    /// (Unlinking the tmp/ name right after the link fails this test: gone at completion.)
    @Test func aSyncfsDeliveryKeepsItsTmpNameUntilAFlushCoversItsNewName() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let steps = Mutex<[String]>([])
        let checked = DispatchSemaphore(value: 0)
        let new = scratch.path + "/new"
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { operation, path in
            steps.withLock { $0.append(operation + " " + path) }
            // The flush for the new/ name waits until the test has looked at tmp/.
            if operation == "syncfs" && path == new { checked.wait() }
            return nil
        }
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer, [DeliveryItem(maildir: scratch.path, chunks: [bytes("hello"), bytes("!")])])

        let paths = try result.get()
        let name = String(try #require(paths.first).split(separator: "/").last!)
        let tmp = scratch.path + "/tmp/" + name + ",S=6"
        #expect(names(in: scratch.path + "/tmp") == [name + ",S=6"])
        #expect(FileManager.default.contents(atPath: paths[0]).map(Array.init) == bytes("hello!"))
        checked.signal()
        #expect(eventually { names(in: scratch.path + "/tmp").isEmpty })
        #expect(
            steps.withLock { $0 } == [
                "open " + tmp, "write " + tmp, "syncfs " + tmp, "link " + new + "/" + name,
                "syncfs " + new,
            ])
    }

    /// A failed flush of new/ names leaves their tmp/ names to the start-up sweep: the
    /// message was answered already, and its names in new/ stay.
    @Test func aFailedFlushOfNewNamesKeepsTheTmpNames() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let failed = Mutex(false)
        let new = scratch.path + "/new"
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { operation, path in
            guard operation == "syncfs" && path == new else { return nil }
            failed.withLock { $0 = true }
            return EIO
        }
        defer { writer.shutdown() }

        let paths = try deliverAndWait(
            writer, [DeliveryItem(maildir: scratch.path, chunks: [bytes("kept")])]
        ).get()
        #expect(eventually { failed.withLock { $0 } })
        usleep(50_000)
        let name = String(try #require(paths.first).split(separator: "/").last!)
        #expect(names(in: scratch.path + "/tmp") == [name + ",S=4"])
        #expect(contents(of: paths[0]) == bytes("kept"))
    }

    @Test(arguments: [("open", EMFILE), ("write", ENOSPC), ("link", EIO)])
    func failedStepOfTheSecondItemLeavesNothingBehind(operation: String, errno: Int32) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let roots = (1...3).map { scratch.path + "/m\($0)" }
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { step, path in
            step == operation && path.hasPrefix(roots[1] + "/") ? errno : nil
        }
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer, roots.map { DeliveryItem(maildir: $0, chunks: [bytes($0)]) })

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.operation == operation)
        #expect(error.errno == errno)
        for root in roots {
            #expect(names(in: root + "/new").isEmpty)
            #expect(names(in: root + "/tmp").isEmpty)
        }
    }

    @Test func publishingNeverReplacesAMessageInNew() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        try maildir.prepare()
        let name = "1700000000.M1P1Q1.h"
        #expect(
            FileManager.default.createFile(atPath: maildir.new + "/" + name, contents: Data([1])))
        #expect(
            FileManager.default.createFile(atPath: maildir.tmp + "/" + name, contents: Data([2])))
        let job = DeliveryJob(items: []) { _ in }
        job.files = [
            StagedFile(
                folders: try OpenedMaildir.open(maildir, creating: false), name: name,
                descriptor: -1, device: 0)
        ]
        let steps = MaildirDeliverySteps(hostname: "h", mode: .syncfs, pool: nil, faults: nil)

        steps.publish([job])

        #expect(job.isAlive)
        let published = try #require(job.files.first)
        #expect(published.newName != name)
        #expect(contents(of: maildir.new + "/" + name) == [1])
        #expect(contents(of: published.newPath) == [2])
        // The tmp/ name stays until a flush has covered the link, then goes.
        #expect(names(in: maildir.tmp) == [name])
        steps.retire(steps.temporaryNames([job]))
        #expect(names(in: maildir.tmp).isEmpty)
    }
}
