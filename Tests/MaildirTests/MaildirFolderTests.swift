import Foundation
import LinuxSystem
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

@Suite struct MaildirFolderTests {
    @Test func prepareCreatesFoldersAndAcceptsExistingOnes() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path + "/x/y/")
        #expect(maildir.root == scratch.path + "/x/y")

        try maildir.prepare()
        try maildir.prepare()

        for folder in ["/x", "/x/y", "/x/y/tmp", "/x/y/new", "/x/y/cur"] {
            #expect(permissions(of: scratch.path + folder) == 0o700)
        }
    }

    @Test func prepareRefusesAFileWhereAFolderBelongs() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(
            atPath: scratch.path + "/m", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: scratch.path + "/m/cur", contents: Data()))

        #expect(
            throws: SystemError("mkdir", scratch.path + "/m/cur", errno: ENOTDIR)
        ) {
            try Maildir(root: scratch.path + "/m").prepare()
        }
    }

    @Test func staleTemporaryFilesAreRemoved() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path)
        #expect(try maildir.sweepTemporaryFiles(hostname: "h").removed == 0)  // no tmp/ yet
        try maildir.prepare()
        // Written by an smtpd that has exited (pid 2^22 + 1 is above Linux's pid_max).
        for name in ["1.M1P4194305Q1.h", "2.M1P4194305Q2.h", "3.M1P4194305Q3.h"] {
            #expect(
                FileManager.default.createFile(atPath: maildir.tmp + "/" + name, contents: Data()))
        }
        #expect(FileManager.default.createFile(atPath: maildir.new + "/keep", contents: Data()))
        try FileManager.default.createDirectory(
            atPath: maildir.tmp + "/folder", withIntermediateDirectories: false)

        #expect(try maildir.sweepTemporaryFiles(hostname: "h").removed == 3)

        #expect(names(in: maildir.tmp) == ["folder"])
        #expect(names(in: maildir.new) == ["keep"])
    }

    @Test(arguments: ["Junk", "ext", "a.b", "x-y_z", "Entwürfe"])
    func acceptedFolderNames(name: String) throws {
        let folder = try Maildir(root: "/m").folder(name)
        #expect(folder.root == "/m/." + name)
    }

    @Test(arguments: ["", ".", "..", "../x", "a/b", "/etc", ".x", "x.", "a..b", "a\0b", "..."])
    func refusedFolderNames(name: String) {
        #expect(throws: SystemError("folder", name, errno: EINVAL)) {
            try Maildir(root: "/m").folder(name)
        }
    }

    @Test func hostIsSanitisedInNames() {
        #expect(MaildirNamer.sanitize("a/b:c.example") == "a\\057b\\072c.example")
        #expect(MaildirNamer.sanitize("") == "localhost")
        let name = MaildirNamer(hostname: "mx:1").next()
        #expect(name.wholeMatch(of: /[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\.mx\\0721/) != nil)
    }

    @Test func namesStayUniqueUnderConcurrency() {
        let namer = MaildirNamer(hostname: "h")
        let collected = NameBag()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            collected.add((0..<5000).map { _ in namer.next() })
        }
        #expect(collected.count == 40000)
        #expect(collected.distinct == 40000)
    }
}

final class NameBag: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String] = []
    func add(_ more: [String]) { lock.withLock { names += more } }
    var count: Int { lock.withLock { names.count } }
    var distinct: Int { lock.withLock { Set(names).count } }
    var first: String { lock.withLock { names.first ?? "" } }
}
