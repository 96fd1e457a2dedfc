import Foundation
import LinuxSystem
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

    @Test(arguments: [(FlushMode.perFile, "fsync"), (.batchedFsync, "fsync"), (.syncfs, "syncfs")])
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

    @Test func failedSyncfsFailsEveryCallOnThatFileSystem() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { operation, path in
            operation == "syncfs" && path.contains("/tmp/") ? ENOSPC : nil
        }
        defer { writer.shutdown() }

        let result = deliverAndWait(writer, [DeliveryItem(maildir: scratch.path, chunks: [[1]])])

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.operation == "syncfs")
        #expect(error.errno == ENOSPC)
        #expect(names(in: scratch.path + "/tmp").isEmpty)
        #expect(names(in: scratch.path + "/new").isEmpty)
    }

    /// `.syncfs` mode's round: one syncfs makes durable the data of the batch just taken and
    /// the new/ entries of the batch linked before it, so its failure fails both.
    @Test func oneSyncfsFlushesTheDataOfABatchAndTheNamesOfTheBatchBefore() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let (first, second) = (scratch.path + "/first", scratch.path + "/second")
        let writingFirst = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let writes = Mutex(0)
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { operation, path in
            if operation == "write" && path.hasPrefix(first + "/tmp/") {
                let count = writes.withLock { count in
                    count += 1
                    return count
                }
                if count == 1 {
                    // The first batch is being written: the second call queues meanwhile,
                    // and the commit thread takes it while the first batch's data flushes.
                    writingFirst.signal()
                    release.wait()
                }
            }
            return operation == "syncfs" && path == first + "/new" ? EIO : nil
        }
        defer { writer.shutdown() }
        let box = ResultBox()
        let group = DispatchGroup()
        group.enter()
        writer.deliver([DeliveryItem(maildir: first, chunks: [bytes("1")])]) {
            box.set($0)
            group.leave()
        }
        writingFirst.wait()
        group.enter()
        writer.deliver([DeliveryItem(maildir: second, chunks: [bytes("2")])]) {
            box.set($0)
            group.leave()
        }
        release.signal()
        group.wait()

        let failure = SystemError("syncfs", first + "/new", errno: EIO)
        #expect(box.all.count == 2)
        for result in box.all {
            #expect(throws: failure) { try result.get() }
        }
        for root in [first, second] {
            #expect(names(in: root + "/new").isEmpty)
            #expect(names(in: root + "/tmp").isEmpty)
        }
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
        #expect(names(in: maildir.tmp).isEmpty)
    }
}
