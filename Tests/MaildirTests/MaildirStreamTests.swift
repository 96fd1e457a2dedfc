import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
@testable import MaildirDelivery
import Testing

/// Streamed delivery (`MaildirWriter.begin`): files written while the content arrives, one
/// file per distinct stored form, hard links for recipients that share one.
@Suite struct MaildirStreamTests {
    /// Commits `stream` and waits for its result.
    func commitAndWait(_ stream: MaildirStream) -> Result<[String], SystemError> {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        stream.commit { result in
            box.set(result)
            done.signal()
        }
        done.wait()
        return box.get()!
    }

    func inode(_ path: String) throws -> (inode: UInt64, links: UInt64) {
        let info = try FileSystem.status(path)
        return (UInt64(info.st_ino), UInt64(info.st_nlink))
    }

    @Test(arguments: FlushMode.allCases)
    func chunksWrittenAsTheyArriveEndUpWholeInNew(mode: FlushMode) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        defer { writer.shutdown() }
        let root = scratch.path + "/user"
        let prefix = bytes("Delivered-To: a@x\n")
        let stream = writer.begin([StreamTarget(maildir: root, prefix: prefix)])
        var expected = prefix
        for index in 0..<40 {
            let chunk = [UInt8](repeating: UInt8(ascii: "a") + UInt8(index % 26), count: 70_000)
            stream.write(chunk)
            expected += chunk
        }
        // Before the commit the file is in tmp/ only, with what was written so far.
        #expect(names(in: root + "/new").isEmpty)
        let staged = names(in: root + "/tmp")
        #expect(staged.count == 1)
        let stagedMatches = contents(of: root + "/tmp/" + staged[0]) == expected
        #expect(stagedMatches)
        let paths = try commitAndWait(stream).get()
        #expect(paths.count == 1)
        let storedMatches = contents(of: paths[0]) == expected
        #expect(storedMatches)
        #expect(eventually { names(in: root + "/tmp").isEmpty })
    }

    @Test func recipientsWithTheSameStoredFormShareOneFileByHardLinks() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let shared = scratch.path + "/shared"
        let other = scratch.path + "/other"
        let same = StreamTarget(maildir: shared, prefix: bytes("Delivered-To: list@x\n"))
        let differs = StreamTarget(maildir: shared, prefix: bytes("Delivered-To: b@x\n"))
        let elsewhere = StreamTarget(maildir: other, prefix: bytes("Delivered-To: list@x\n"))
        let stream = writer.begin([same, differs, same, elsewhere])
        // One file per distinct (Maildir, prefix): three, not four.
        #expect(stream.descriptors.count == 3)
        stream.write(bytes("Subject: s\n\nbody\n"))
        let paths = try commitAndWait(stream).get()
        #expect(paths.count == 4)
        #expect(Set(paths).count == 4)
        let first = try inode(paths[0])
        let third = try inode(paths[2])
        #expect(first.inode == third.inode)
        // Two names in new/ (the tmp/ name goes after the next flush).
        #expect(eventually { (try? inode(paths[0]).links) == 2 })
        #expect(try inode(paths[1]).inode != first.inode)
        #expect(eventually { (try? inode(paths[1]).links) == 1 })
        #expect(eventually { (try? inode(paths[3]).links) == 1 })
        #expect(contents(of: paths[2]) == bytes("Delivered-To: list@x\nSubject: s\n\nbody\n"))
        #expect(contents(of: paths[1]) == bytes("Delivered-To: b@x\nSubject: s\n\nbody\n"))
        #expect(names(in: shared + "/new").count == 3)
        #expect(eventually { names(in: shared + "/tmp").isEmpty })
        #expect(eventually { names(in: other + "/tmp").isEmpty })
    }

    @Test func anAbortedStreamLeavesNothingInTmp() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let roots = [scratch.path + "/a", scratch.path + "/b"]
        let stream = writer.begin(roots.map { StreamTarget(maildir: $0, prefix: bytes("P\n")) })
        stream.write([UInt8](repeating: 0x41, count: 200_000))
        for root in roots { #expect(names(in: root + "/tmp").count == 1) }
        stream.abort()
        for root in roots {
            #expect(names(in: root + "/tmp").isEmpty)
            #expect(names(in: root + "/new").isEmpty)
        }
    }

    @Test func aStreamDroppedWithoutCommitIsAborted() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let root = scratch.path + "/a"
        do {
            let stream = writer.begin([StreamTarget(maildir: root, prefix: bytes("P\n"))])
            stream.write(bytes("x\n"))
        }
        #expect(names(in: root + "/tmp").isEmpty)
        #expect(names(in: root + "/new").isEmpty)
    }

    @Test func aWriteFailureIsAnsweredByCommitAndLeavesNothing() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let failing = Switch()
        let writer = MaildirWriter(hostname: "h", flushMode: .syncfs) { operation, _ in
            operation == "write" && failing.isOn ? ENOSPC : nil
        }
        defer { writer.shutdown() }
        let roots = [scratch.path + "/a", scratch.path + "/b"]
        let stream = writer.begin(roots.map { StreamTarget(maildir: $0, prefix: bytes("P\n")) })
        stream.write(bytes("first\n"))
        failing.turnOn()
        stream.write(bytes("second\n"))
        #expect(stream.failed?.errno == ENOSPC)
        let result = commitAndWait(stream)
        guard case .failure(let error) = result else {
            Issue.record("committed despite a failed write: \(result)")
            return
        }
        #expect(error.errno == ENOSPC)
        for root in roots {
            #expect(names(in: root + "/tmp").isEmpty)
            #expect(names(in: root + "/new").isEmpty)
        }
    }

    @Test func aMaildirThatCannotBeOpenedFailsTheCommitAndUndoesTheOthers() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let good = scratch.path + "/good"
        let blocked = scratch.path + "/file"
        _ = FileManager.default.createFile(atPath: blocked, contents: Data())
        let stream = writer.begin([
            StreamTarget(maildir: good, prefix: bytes("P\n")),
            StreamTarget(maildir: blocked + "/Maildir", prefix: bytes("P\n")),
        ])
        #expect(stream.failed?.errno == ENOTDIR)
        stream.write(bytes("body\n"))
        #expect(throws: SystemError.self) { try commitAndWait(stream).get() }
        #expect(names(in: good + "/tmp").isEmpty)
        #expect(names(in: good + "/new").isEmpty)
    }
}

/// A flag a fault hook reads from the writer's threads.
final class Switch: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    var isOn: Bool { lock.withLock { on } }
    func turnOn() { lock.withLock { on = true } }
}
