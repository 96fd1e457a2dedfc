import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import Synchronization
import Testing

@testable import MaildirDelivery

/// Start-up recovery (docs/DURABILITY.md): a whole message a writer that is gone left in
/// tmp/ under its marked name goes into new/ under the names it was meant to have; anything
/// cut short, or still being written, is not published.
@Suite struct MaildirRecoveryTests {
    /// A Maildir with one file in tmp/ of `content` under `name`.
    struct Setup {
        let scratch = ScratchDirectory()
        let maildir: Maildir

        init(_ name: String, _ content: String) throws {
            maildir = Maildir(root: scratch.path + "/Maildir")
            try maildir.prepare()
            #expect(
                FileManager.default.createFile(
                    atPath: maildir.tmp + "/" + name, contents: Data(content.utf8)))
        }

        func sweep() throws -> TemporarySweep { try maildir.sweepTemporaryFiles(hostname: "r") }
    }

    @Test func aWholeFileOfAGoneWriterIsMovedIntoNewUnderItsUnmarkedName() throws {
        let dead = try exitedPID()
        let setup = try Setup("1700000000.M1P\(dead)Q1.h,S=5", "hello")
        defer { setup.scratch.remove() }

        #expect(try setup.sweep() == TemporarySweep(recovered: 1))

        #expect(names(in: setup.maildir.tmp).isEmpty)
        #expect(names(in: setup.maildir.new) == ["1700000000.M1P\(dead)Q1.h"])
        #expect(contents(of: setup.maildir.new + "/1700000000.M1P\(dead)Q1.h") == bytes("hello"))
    }

    @Test(arguments: ["hell", "hello!", ""])
    func aFileWithoutTheSizeItsNameGivesIsRemovedNotRecovered(content: String) throws {
        let dead = try exitedPID()
        let setup = try Setup("1700000000.M1P\(dead)Q1.h,S=5", content)
        defer { setup.scratch.remove() }

        #expect(try setup.sweep() == TemporarySweep(removed: 1))

        #expect(names(in: setup.maildir.tmp).isEmpty)
        #expect(names(in: setup.maildir.new).isEmpty)
    }

    /// `N=2`: three recipients shared the file; each gets its name in new/, one inode.
    @Test func aSharedFileGetsAllItsNames() throws {
        let dead = try exitedPID()
        let setup = try Setup("1700000000.M1P\(dead)Q1.h,S=2,N=2", "hi")
        defer { setup.scratch.remove() }

        #expect(try setup.sweep() == TemporarySweep(recovered: 1))

        let published = names(in: setup.maildir.new)
        #expect(published.count == 3)
        #expect(published.contains("1700000000.M1P\(dead)Q1.h"))
        var info = stat()
        #expect(stat(setup.maildir.new + "/" + published[0], &info) == 0)
        #expect(info.st_nlink == 3)
        #expect(names(in: setup.maildir.tmp).isEmpty)
    }

    /// Linked before the cut: the file already has its name in new/ (or a reader moved it on
    /// to cur/); only the stale tmp/ name goes, no second copy appears.
    @Test func aFileAlreadyLinkedOnlyLosesItsTmpName() throws {
        let dead = try exitedPID()
        let name = "1700000000.M1P\(dead)Q1.h"
        let setup = try Setup(name + ",S=5", "hello")
        defer { setup.scratch.remove() }
        #expect(
            link(setup.maildir.tmp + "/" + name + ",S=5", setup.maildir.cur + "/" + name + ":2,S")
                == 0)

        #expect(try setup.sweep() == TemporarySweep(removed: 1))

        #expect(names(in: setup.maildir.tmp).isEmpty)
        #expect(names(in: setup.maildir.new).isEmpty)
        #expect(names(in: setup.maildir.cur) == [name + ":2,S"])
    }

    /// Another message took the name in new/: it is never replaced.
    @Test func aTakenNameInNewGetsAFreshOneAndIsLeftAlone() throws {
        let dead = try exitedPID()
        let name = "1700000000.M1P\(dead)Q1.h"
        let setup = try Setup(name + ",S=3", "new")
        defer { setup.scratch.remove() }
        #expect(
            FileManager.default.createFile(
                atPath: setup.maildir.new + "/" + name, contents: Data("old".utf8)))

        #expect(try setup.sweep() == TemporarySweep(recovered: 1))

        let published = names(in: setup.maildir.new)
        #expect(published.count == 2)
        #expect(contents(of: setup.maildir.new + "/" + name) == bytes("old"))
        let fresh = try #require(published.first { $0 != name })
        #expect(fresh.hasSuffix(".r"))
        #expect(contents(of: setup.maildir.new + "/" + fresh) == bytes("new"))
    }

    /// A running writer's file may be in the making, even when whole: this process, named
    /// after it started.
    @Test func aLiveWritersFilesAreLeftAlone() throws {
        let name = "\(time(nil)).M1P\(getpid())Q1.h"
        let setup = try Setup(name + ",S=5", "hello")
        defer { setup.scratch.remove() }
        #expect(
            FileManager.default.createFile(
                atPath: setup.maildir.tmp + "/" + "\(time(nil)).M1P\(getpid())Q2.h",
                contents: Data("part".utf8)))

        #expect(try setup.sweep() == TemporarySweep())

        #expect(names(in: setup.maildir.tmp).count == 2)
        #expect(names(in: setup.maildir.new).isEmpty)
    }

    /// A pid that names a running process proves nothing if that process started after the
    /// name was made: the pid was reused (after a reboot, or smtpd restarted under the pid
    /// of the one before it).
    @Test func aReusedPIDDoesNotMakeAWriterLive() throws {
        let name = "1700000000.M1P\(getpid())Q1.h"
        let setup = try Setup(name + ",S=5", "hello")
        defer { setup.scratch.remove() }
        #expect(MaildirNamer.Shape(name + ",S=5")?.writerHasExited == true)
        #expect(MaildirNamer.Shape("\(time(nil)).M1P\(getpid())Q1.h")?.writerHasExited == false)

        #expect(try setup.sweep() == TemporarySweep(recovered: 1))

        #expect(names(in: setup.maildir.new) == [name])
    }

    /// A Maildir no start-up sweep knew (a home's) is recovered at the writer's first visit.
    @Test func theWritersFirstVisitOfAMaildirRecoversIt() throws {
        let dead = try exitedPID()
        let name = "1700000000.M1P\(dead)Q1.h"
        let setup = try Setup(name + ",S=5", "hello")
        defer { setup.scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }

        let paths = try deliverAndWait(
            writer, [DeliveryItem(maildir: setup.maildir.root, chunks: [bytes("later")])]
        ).get()

        #expect(
            Set(names(in: setup.maildir.new)) == [
                name, String(paths[0].split(separator: "/").last!),
            ])
        #expect(eventually { names(in: setup.maildir.tmp).isEmpty })
    }

    @Test func markedNamesSayTheSizeAndTheFurtherNames() throws {
        #expect(MaildirNamer.marked("1.M2P3Q4.h", size: 10, extraLinks: 0) == "1.M2P3Q4.h,S=10")
        #expect(MaildirNamer.marked("1.M2P3Q4.h", size: 10, extraLinks: 2) == "1.M2P3Q4.h,S=10,N=2")
        #expect(MaildirNamer.unmarked("1.M2P3Q4.h,S=10,N=2") == "1.M2P3Q4.h")
        #expect(MaildirNamer.unmarked("1.M2P3Q4.h") == "1.M2P3Q4.h")

        let shape = try #require(MaildirNamer.Shape("1.M2P3Q4.h,S=10,N=2"))
        #expect(
            shape.size == 10 && shape.extraLinks == 2 && shape.writer == 3 && shape.seconds == 1)
        #expect(MaildirNamer.Shape("1.M2P3Q4.h")?.size == nil)
        // Not a marker this version writes, a sign, junk: nothing to recover.
        for name in ["1.M2P3Q4.h,S=10,X=1", "1.M2P3Q4.h,S=-1", "1.M2P3Q4.h,S=1x", "1.M2P3Q4.h,S="] {
            #expect(MaildirNamer.Shape(name)?.size == nil, "\(name)")
        }
        // Another program's comma means something else (no smtpd pid in the name).
        #expect(MaildirNamer.Shape("1.other.h,S=10")?.size == nil)
        // A host name's comma cannot pass for a marker.
        #expect(MaildirNamer.sanitize("a,S=1") == "a\\054S=1")
    }

    /// A streamed file is renamed to its marked name once whole: its size and the further
    /// names of recipients that share it.
    @Test func aStreamedFileIsMarkedWithItsSizeAndFurtherNamesBeforeItsFlush() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let steps = Mutex<[String]>([])
        let writer = MaildirWriter(
            hostname: "h", flushMode: .syncfs,
            faults: { operation, path in
                if operation == "rename" || operation == "syncfs" {
                    steps.withLock { $0.append(operation + " " + path) }
                }
                return nil
            })
        defer { writer.shutdown() }
        let target = StreamTarget(maildir: scratch.path, prefix: bytes("P\n"))
        let stream = writer.begin([target, target])
        stream.write(bytes("body\n"))
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        stream.commit(appending: bytes("end\n")) {
            box.set($0)
            done.signal()
        }
        done.wait()

        let paths = try #require(box.get()).get()
        let name = String(paths[0].split(separator: "/").last!)
        let marked = scratch.path + "/tmp/" + name + ",S=11,N=1"
        // Then a later flush of new/ may retire the tmp/ name.
        #expect(steps.withLock { Array($0.prefix(2)) } == ["rename " + marked, "syncfs " + marked])
        #expect(contents(of: paths[1]) == bytes("P\nbody\nend\n"))
    }
}
