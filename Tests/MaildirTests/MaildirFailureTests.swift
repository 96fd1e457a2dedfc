import Foundation
import LinuxSystem
import MailLabTestSupport
import MaildirDelivery
import MaildirInspection
import Testing

@Suite struct MaildirFailureTests {
    @Test(arguments: FlushMode.allCases)
    func rootUnderAFileFailsWithTypedErrorAndLeavesNothing(mode: FlushMode) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let file = scratch.path + "/plain"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let good = scratch.path + "/good"
        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer,
            [
                DeliveryItem(maildir: good, chunks: [bytes("a")]),
                DeliveryItem(maildir: file + "/user", chunks: [bytes("b")]),
            ])

        // The walk names the component that is not a folder.
        #expect(throws: SystemError("mkdir", file, errno: ENOTDIR)) {
            try result.get()
        }
        if case .failure(let error) = result {
            #expect(error.errno == ENOTDIR)
            #expect(error.description == "mkdir \(file): Not a directory")
        }
        #expect(names(in: good + "/new").isEmpty)
        #expect(names(in: good + "/tmp").isEmpty)
    }

    @Test(arguments: FlushMode.allCases)
    func aFolderBrokenBetweenCallsFailsOnlyItsItemsCallAndLeavesNothing(mode: FlushMode) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let good = scratch.path + "/good"
        let broken = scratch.path + "/broken"
        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        defer { writer.shutdown() }
        // The writer prepares both Maildirs; then broken/new becomes a file.
        _ = try deliverAndWait(
            writer,
            [
                DeliveryItem(maildir: good, chunks: [bytes("0")]),
                DeliveryItem(maildir: broken, chunks: [bytes("0")]),
            ]
        ).get()
        try FileManager.default.removeItem(atPath: broken + "/new")
        #expect(FileManager.default.createFile(atPath: broken + "/new", contents: Data()))

        let result = deliverAndWait(
            writer,
            [
                DeliveryItem(maildir: good, chunks: [bytes("1")]),
                DeliveryItem(maildir: broken, chunks: [bytes("2")]),
            ])

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        // Each call walks to its Maildirs afresh (undoing a link is
        // MaildirFaultTests.failedStepOfTheSecondItemLeavesNothingBehind's job).
        #expect(error == SystemError("mkdir", broken + "/new", errno: ENOTDIR))
        #expect(names(in: good + "/new").count == 1)  // only the first call's file
        // In syncfs mode the first call's tmp/ names go after a later flush.
        #expect(eventually { names(in: good + "/tmp").isEmpty })
        #expect(eventually { names(in: broken + "/tmp").isEmpty })
    }

    @Test func vanishedMaildirIsPreparedAgain() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let root = scratch.path + "/user"
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        _ = try deliverAndWait(writer, [DeliveryItem(maildir: root, chunks: [[1]])]).get()
        try FileManager.default.removeItem(atPath: root)

        let paths = try deliverAndWait(writer, [DeliveryItem(maildir: root, chunks: [[2]])]).get()

        #expect(contents(of: paths[0]) == [2])
    }

    @Test func failureOfOneCallDoesNotFailItsBatchNeighbours() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let file = scratch.path + "/plain"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let writer = MaildirWriter(hostname: "h")
        let box = ResultBox()
        for index in 0..<30 {
            let root = index % 2 == 0 ? scratch.path + "/ok" : file + "/bad"
            writer.deliver([DeliveryItem(maildir: root, chunks: [[UInt8(index)]])]) {
                box.set($0)
            }
        }
        writer.shutdown()

        let results = box.all
        #expect(results.count == 30)
        #expect(results.filter { (try? $0.get()) != nil }.count == 15)
        #expect(names(in: scratch.path + "/ok/new").count == 15)
    }
}

@Suite struct MaildirRootTests {
    @Test(arguments: ["", "relative/dir", "/a/../b", "/a/./b", "/a/..", "/a\0b"])
    func unsafeRootsAreRefused(root: String) {
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let result = deliverAndWait(writer, [DeliveryItem(maildir: root, chunks: [[1]])])
        #expect(throws: SystemError("maildir", root, errno: EINVAL)) {
            try result.get()
        }
    }

    @Test(arguments: FlushMode.allCases, [true, false])
    func shutdownFromACompletionDoesNotDeadlock(mode: FlushMode, succeeds: Bool) {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        let done = DispatchSemaphore(value: 0)
        let root = succeeds ? scratch.path : "relative"
        let box = ResultBox()
        writer.deliver([DeliveryItem(maildir: root, chunks: [[1]])]) { result in
            writer.shutdown()
            box.set(result)
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(((try? box.get()?.get()) != nil) == succeeds)
    }
}
