import Glibc
import LinuxSystem
import Testing

@testable import MailQueue

/// `QueueSpool.prepare`: root readies a spool for the queue of smtpd's network side (and
/// takes it back), giving away the queue's own files and nothing else.
@Suite(.enabled(if: geteuid() == 0)) struct SpoolPreparationTests {
    /// Not a user of this system: chown needs none.
    static let owner: uid_t = 48_213
    static let group: gid_t = 48_213

    static func info(_ path: String) -> stat {
        var info = stat()
        _ = lstat(path, &info)
        return info
    }

    static func prepare(_ root: String, nested: Bool = false) throws(SystemError) {
        closeDescriptor(
            try QueueSpool.prepare(
                root: root, owner: owner, group: group, trusted: [], nested: nested))
    }

    static func refusal(_ body: () throws(SystemError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.errno == EPERM ? error.description : "errno \(error.errno): \(error)"
        }
    }

    @Test func theQueuesFilesAreGivenAwayAndTheSpoolFolderStaysRoots() throws {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "mlt-prepare")
        defer { FileSystem.removeTree(base) }
        let root = base + "/a/spool"  // its parent is missing too
        try Self.prepare(root)
        for name in ["tmp", "new", "cur", "lock"] {
            #expect(Self.info(root + "/" + name).st_uid == Self.owner, "\(name)")
            #expect(Self.info(root + "/" + name).st_gid == Self.group, "\(name)")
        }
        #expect(Self.info(root).st_uid == 0)
        #expect(Self.info(root).st_mode & 0o777 == 0o711)  // passed through, not listed

        // What a root queue left: a message, and one a crash left under two names.
        closeDescriptor(
            try QueueSpool.prepare(
                root: base + "/b", owner: 0, group: 0, trusted: [], nested: false))
        try FileSystem.writeFile(base + "/b/new/1.a.host", Array("queued".utf8), mode: 0o600)
        #expect(link(base + "/b/new/1.a.host", base + "/b/tmp/1.a.host,S=6") == 0)
        try Self.prepare(base + "/b")
        #expect(Self.info(base + "/b/new/1.a.host").st_uid == Self.owner)
        #expect(Self.info(base + "/b/new").st_uid == Self.owner)
    }

    @Test func rootTakesASpoolBack() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-prepare")
        defer { FileSystem.removeTree(root) }
        try Self.prepare(root)
        try FileSystem.writeFile(root + "/new/1.a.host", Array("queued".utf8), mode: 0o600)
        #expect(chown(root + "/new/1.a.host", Self.owner, Self.group) == 0)
        closeDescriptor(
            try QueueSpool.prepare(
                root: root, owner: 0, group: 0, trusted: [Self.owner], nested: false))
        for name in ["tmp", "new", "cur", "lock", "new/1.a.host"] {
            #expect(Self.info(root + "/" + name).st_uid == 0, "\(name)")
        }
        // A queue of root's opens it as its own.
        _ = try QueueSpool(root: root)
    }

    /// The owner may have linked a file it could name into its folders (without
    /// fs.protected_hardlinks): root gives such a file away only from a folder of root's.
    @Test func aLinkInAFolderOfTheOwnersIsNotGivenAway() throws {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "mlt-prepare")
        defer { FileSystem.removeTree(base) }
        let root = base + "/spool"
        try Self.prepare(root)
        try FileSystem.writeFile(base + "/roots-file", Array("root's".utf8), mode: 0o600)
        #expect(link(base + "/roots-file", root + "/new/1.a.host") == 0)
        try Self.prepare(root)
        #expect(Self.info(base + "/roots-file").st_uid == 0)
    }

    @Test func aSpoolHoldingWhatTheQueueDoesNotMakeIsRefused() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-prepare")
        defer { FileSystem.removeTree(root) }
        try FileSystem.writeFile(root + "/notes.txt", Array("mine".utf8), mode: 0o600)
        let refused = Self.refusal { () throws(SystemError) in try Self.prepare(root) }
        #expect(
            refused?.contains("holds notes.txt, which the queue does not make") == true,
            "\(refused ?? "")")
        #expect(!FileSystem.exists(root + "/new"))
        #expect(Self.info(root + "/notes.txt").st_uid == 0)

        // The default spool outside labs holds the namespaces' spools: folders pass.
        #expect(unlink(root + "/notes.txt") == 0)
        #expect(mkdir(root + "/lab-ns", 0o700) == 0)
        #expect(Self.refusal { () throws(SystemError) in try Self.prepare(root) } != nil)
        try Self.prepare(root, nested: true)
        #expect(Self.info(root + "/lab-ns").st_uid == 0)
    }

    @Test func linksAndFoldersOthersMayWriteAreRefused() throws {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "mlt-prepare")
        defer { FileSystem.removeTree(base) }
        try FileSystem.writeFile(base + "/target", Array("keep".utf8), mode: 0o600)
        #expect(mkdir(base + "/elsewhere", 0o700) == 0)

        // The spool itself a link.
        #expect(symlink(base + "/elsewhere", base + "/linked") == 0)
        #expect(
            Self.refusal { () throws(SystemError) in try Self.prepare(base + "/linked") } != nil)
        #expect(Self.info(base + "/elsewhere").st_uid == 0)

        // Writable by others.
        #expect(mkdir(base + "/open", 0o700) == 0)
        #expect(chmod(base + "/open", 0o777) == 0)
        let open = Self.refusal { () throws(SystemError) in try Self.prepare(base + "/open") }
        #expect(open?.contains("writable by group or others") == true, "\(open ?? "")")

        // new/ a link to a folder elsewhere; a link inside new/.
        try Self.prepare(base + "/s1")
        #expect(rmdir(base + "/s1/new") == 0)
        #expect(symlink(base + "/elsewhere", base + "/s1/new") == 0)
        #expect(Self.refusal { () throws(SystemError) in try Self.prepare(base + "/s1") } != nil)
        #expect(Self.info(base + "/elsewhere").st_uid == 0)
        try Self.prepare(base + "/s2")
        #expect(symlink(base + "/target", base + "/s2/new/1.a.host") == 0)
        let linked = Self.refusal { () throws(SystemError) in try Self.prepare(base + "/s2") }
        #expect(linked?.contains("not a regular file") == true, "\(linked ?? "")")
        #expect(Self.info(base + "/target").st_uid == 0)
    }

    /// A spool opened from its folder's descriptor looks nothing up by path: the network
    /// side may not search the folders above it.
    @Test func aSpoolFromADescriptorNeedsNoPath() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "mlt-prepare")
        defer { FileSystem.removeTree(root) }
        let fd = try QueueSpool.prepare(
            root: root, owner: 0, group: 0, trusted: [], nested: false)
        defer { closeDescriptor(fd) }
        let moved = root + "-moved"
        #expect(rename(root, moved) == 0)
        defer { _ = rename(moved, root) }
        let spool = try QueueSpool(root: root, descriptor: fd)
        let sample = QueueFileCodecTests.sample
        try FileSystem.writeFile(
            moved + "/new/1.a.host",
            QueueFileCodec.encode(sample, content: QueueFileCodecTests.content))
        var changed = sample
        changed.recipients[0].attempts += 1
        try spool.rewrite("1.a.host", envelope: QueueFileCodec.envelope(changed))
        #expect(try spool.names() == ["1.a.host"])
        #expect(try spool.envelope("1.a.host") == QueueFileCodec.envelope(changed))
        let content = try spool.content("1.a.host")
        #expect(try RelayContent(content).bytes() == QueueFileCodecTests.content)
        #expect(FileSystem.exists(moved + "/new/1.a.host"))
        try spool.remove("1.a.host")
        #expect(try spool.names().isEmpty)
    }
}
