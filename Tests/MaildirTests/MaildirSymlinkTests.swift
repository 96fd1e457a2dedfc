import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import Testing

@testable import MaildirDelivery

/// The writer and the stale-tmp sweep never follow a symbolic link a user could have
/// planted: a linked `tmp/`, `new/`, `cur/` or path component is refused, what it points at
/// is left untouched.
@Suite struct MaildirSymlinkTests {
    /// A Maildir under a scratch folder, plus an outside folder holding a file that must
    /// survive. The scratch folder lies in /tmp (writable by all): nothing below is trusted.
    struct Setup {
        let scratch = ScratchDirectory()
        var maildir: Maildir { Maildir(root: scratch.path + "/Maildir") }
        var outside: String { scratch.path + "/outside" }
        var victim: String { outside + "/1700000000.M1P999999Q1.victim" }

        init() throws {
            try FileManager.default.createDirectory(
                atPath: outside, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: victim, contents: Data("keep".utf8)))
            // Old enough for the sweep to take it, had it followed the link.
            var times = [
                timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0),
            ]
            #expect(utimensat(AT_FDCWD, victim, &times, 0) == 0)
        }

        func victimIsUntouched() -> Bool {
            contents(of: victim) == Array("keep".utf8) && names(in: outside).count == 1
        }
    }

    @Test(arguments: ["tmp", "new", "cur"])
    func aLinkedMaildirFolderIsRefusedAndNotFollowed(folder: String) throws {
        let setup = try Setup()
        defer { setup.scratch.remove() }
        try setup.maildir.prepare()
        let linked = setup.maildir.root + "/" + folder
        try FileManager.default.removeItem(atPath: linked)
        try FileManager.default.createSymbolicLink(
            atPath: linked, withDestinationPath: setup.outside)
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer, [DeliveryItem(maildir: setup.maildir.root, chunks: [bytes("x")])])

        #expect(throws: SystemError(Maildir.refusedLink, linked, errno: ELOOP)) {
            try result.get()
        }
        #expect(setup.victimIsUntouched())
        for other in ["tmp", "new", "cur"] where other != folder {
            #expect(names(in: setup.maildir.root + "/" + other).isEmpty)
        }
    }

    /// The writer keeps the folders it walked to (`OpenedMaildirCache`): a folder swapped for
    /// a link after a delivery is still refused at the next one, not reached through the
    /// folders kept open. (The root: a link to another Maildir, whose files must survive.)
    @Test(arguments: ["tmp", "new", ""])
    func aFolderSwappedForALinkAfterADeliveryIsRefusedAtTheNext(folder: String) throws {
        let setup = try Setup()
        defer { setup.scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        _ = try deliverAndWait(
            writer, [DeliveryItem(maildir: setup.maildir.root, chunks: [bytes("first")])]
        ).get()
        let linked = folder.isEmpty ? setup.maildir.root : setup.maildir.root + "/" + folder
        if folder.isEmpty {
            try Maildir(root: setup.outside).prepare()
        }
        try FileManager.default.moveItem(atPath: linked, toPath: setup.scratch.path + "/moved")
        try FileManager.default.createSymbolicLink(
            atPath: linked, withDestinationPath: setup.outside)

        let result = deliverAndWait(
            writer, [DeliveryItem(maildir: setup.maildir.root, chunks: [bytes("second")])])

        #expect(throws: SystemError(Maildir.refusedLink, linked, errno: ELOOP)) {
            try result.get()
        }
        #expect(contents(of: setup.victim) == Array("keep".utf8))
        for sub in ["tmp", "new", "cur"] {
            #expect(names(in: setup.outside + "/" + sub).isEmpty)
        }
    }

    /// The folders the writer keeps open go with its shutdown: nothing holds the Maildir's
    /// file system busy (an unmount waited for them, MaildirPowerCutTests).
    @Test func aShutDownWriterKeepsNoMaildirFolderOpen() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        _ = try deliverAndWait(
            writer, [DeliveryItem(maildir: scratch.path + "/Maildir", chunks: [bytes("x")])]
        ).get()
        func openInside() -> [String] {
            names(in: "/proc/self/fd").compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
            }.filter { $0.hasPrefix(scratch.path) }
        }
        #expect(!openInside().isEmpty, "kept while the writer runs")

        writer.shutdown()

        #expect(openInside().isEmpty)
    }

    @Test func aLinkedPathComponentIsRefusedAndNotFollowed() throws {
        let setup = try Setup()
        defer { setup.scratch.remove() }
        // home -> outside; the Maildir below it would land in outside/Maildir.
        let home = setup.scratch.path + "/home"
        try FileManager.default.createSymbolicLink(atPath: home, withDestinationPath: setup.outside)
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer, [DeliveryItem(maildir: home + "/Maildir", chunks: [bytes("x")])])

        #expect(throws: SystemError(Maildir.refusedLink, home, errno: ELOOP)) {
            try result.get()
        }
        #expect(setup.victimIsUntouched(), "outside: \(names(in: setup.outside))")
    }

    @Test func aLinkedMaildirRootIsRefused() throws {
        let setup = try Setup()
        defer { setup.scratch.remove() }
        try Maildir(root: setup.outside).prepare()
        try FileManager.default.createSymbolicLink(
            atPath: setup.maildir.root, withDestinationPath: setup.outside)

        #expect(throws: SystemError(Maildir.refusedLink, setup.maildir.root, errno: ELOOP)) {
            try setup.maildir.prepare()
        }
        #expect(throws: SystemError(Maildir.refusedLink, setup.maildir.root, errno: ELOOP)) {
            _ = try setup.maildir.sweepTemporaryFiles(hostname: "h")
        }
        #expect(names(in: setup.outside + "/new").isEmpty)
    }

    @Test func theSweepRefusesALinkedTmpAndLeavesItsTargetAlone() throws {
        let setup = try Setup()
        defer { setup.scratch.remove() }
        try setup.maildir.prepare()
        try FileManager.default.removeItem(atPath: setup.maildir.tmp)
        try FileManager.default.createSymbolicLink(
            atPath: setup.maildir.tmp, withDestinationPath: setup.outside)

        #expect(throws: SystemError(Maildir.refusedLink, setup.maildir.tmp, errno: ELOOP)) {
            _ = try setup.maildir.sweepTemporaryFiles(hostname: "h")
        }
        #expect(setup.victimIsUntouched())
    }

    /// Only regular files named like Maildir temporaries, owned right and provably stale.
    @Test func theSweepRemovesOnlyProvablyStaleMaildirTemporaries() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let maildir = Maildir(root: scratch.path + "/Maildir")
        try maildir.prepare()
        let dead = try exitedPID()
        let old = timespec(tv_sec: 1_000_000, tv_nsec: 0)
        let now = time(nil)
        let files: [(name: String, old: Bool)] = [
            ("1700000000.M1P\(dead)Q1.h", false),  // smtpd's, writer gone: stale
            ("1700000000.M5P77.other", true),  // another MDA's, 36 h old: stale
            ("1700000000.M5P78.other", false),  // another MDA's, fresh: may be in the making
            ("\(now).M1P\(getpid())Q1.h", false),  // this process's: may be in the making
            ("notes.txt", true), (".hidden", true), ("12x.M1P\(dead)Q1.h", true),
        ]
        for file in files {
            let path = maildir.tmp + "/" + file.name
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            if file.old {
                var times = [old, old]
                #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
            }
        }
        let folder = maildir.tmp + "/1700000000.M1P\(dead)Q2.h"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let link = maildir.tmp + "/1700000000.M1P\(dead)Q3.h"
        try FileManager.default.createSymbolicLink(
            atPath: link, withDestinationPath: "/etc/hostname")
        if geteuid() == 0 {
            // Owned by someone else in a Maildir that is not theirs: not smtpd's file.
            let foreign = maildir.tmp + "/1700000000.M1P\(dead)Q4.h"
            #expect(FileManager.default.createFile(atPath: foreign, contents: Data()))
            #expect(chown(foreign, 65534, 65534) == 0)
        }

        #expect(try maildir.sweepTemporaryFiles(hostname: "h").removed == 2)

        var kept = [
            "1700000000.M5P78.other", "\(now).M1P\(getpid())Q1.h", "notes.txt", ".hidden",
            "12x.M1P\(dead)Q1.h", "1700000000.M1P\(dead)Q2.h", "1700000000.M1P\(dead)Q3.h",
        ]
        if geteuid() == 0 { kept.append("1700000000.M1P\(dead)Q4.h") }
        #expect(names(in: maildir.tmp) == kept.sorted())
    }

    /// Folders smtpd makes are 0700, files 0600; in a folder owned by another user (a home),
    /// both belong to that user.
    @Test func madeFoldersAre0700AndFilesAre0600OwnedByTheHomesOwner() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let home = scratch.path + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        let owner: (uid_t, gid_t) = geteuid() == 0 ? (65534, 65534) : (geteuid(), getegid())
        #expect(chown(home, owner.0, owner.1) == 0)
        let root = home + "/Maildir/.Junk"
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }

        let paths = try deliverAndWait(writer, [DeliveryItem(maildir: root, chunks: [bytes("x")])])
            .get()

        for folder in [home + "/Maildir", root, root + "/tmp", root + "/new", root + "/cur"] {
            #expect(permissions(of: folder) == 0o700, "\(folder)")
            #expect(ownerOf(folder) == owner.0, "\(folder)")
        }
        let file = try #require(paths.first)
        #expect(permissions(of: file) == 0o600)
        #expect(ownerOf(file) == owner.0)
    }
}

private func ownerOf(_ path: String) -> uid_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_uid
}
