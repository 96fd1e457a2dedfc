import Foundation
import Glibc
import LinuxSystem
import Testing

@testable import MaildirDelivery

/// Deliveries with an owner are written as that owner (the writer thread's file-system
/// identity): the files and the folders made are the owner's, and the kernel refuses what
/// the owner may not do.
@Suite(.enabled(if: geteuid() == 0, "needs root: only root can write as another user"))
struct MaildirOwnerTests {
    static let first = FileSystemIdentity(user: 64_101, group: 64_101, groups: [64_101])
    static let second = FileSystemIdentity(user: 64_102, group: 64_102, groups: [64_102])

    /// A scratch folder others may search (mkdtemp makes it 0700) with a home per owner.
    struct Homes {
        let scratch = ScratchDirectory()
        init() { chmod(scratch.path, 0o755) }
        func home(of owner: FileSystemIdentity) -> String {
            let home = scratch.path + "/home\(owner.user)"
            mkdir(home, 0o700)
            chown(home, owner.user, owner.group)
            return home
        }
    }

    @Test(arguments: FlushMode.allCases)
    func aHomeMaildirIsTheOwnersWithFiles0600AndFolders0700(mode: FlushMode) throws {
        let homes = Homes()
        defer { homes.scratch.remove() }
        let home = homes.home(of: Self.first)
        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        defer { writer.shutdown() }

        let paths = try deliverAndWait(
            writer,
            [DeliveryItem(maildir: home + "/Maildir", chunks: [bytes("x")], owner: Self.first)]
        ).get()

        for folder in ["", "/tmp", "/new", "/cur"].map({ home + "/Maildir" + $0 }) {
            #expect(permissions(of: folder) == 0o700, "\(folder)")
            #expect(owner(of: folder) == [Self.first.user, Self.first.group], "\(folder)")
        }
        let file = try #require(paths.first)
        #expect(permissions(of: file) == 0o600)
        #expect(owner(of: file) == [Self.first.user, Self.first.group])
    }

    /// A root-owned 0755 Maildir inside the home: root could write there, the owner cannot,
    /// so nothing is written and the error says whose permission was missing.
    @Test func aMaildirTheOwnerCannotWriteIsRefusedAndLeftEmpty() throws {
        let homes = Homes()
        defer { homes.scratch.remove() }
        let home = homes.home(of: Self.first)
        let maildir = home + "/Maildir"
        #expect(mkdir(maildir, 0o755) == 0)
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer, [DeliveryItem(maildir: maildir, chunks: [bytes("x")], owner: Self.first)])

        #expect(
            throws: SystemError(
                Maildir.deniedToOwner, maildir + "/tmp (as uid \(Self.first.user))", errno: EACCES)
        ) { try result.get() }
        #expect(names(in: maildir).isEmpty)
    }

    /// The owner's delivery shares the group commit: it completes only after its flush (of
    /// new/ in the fsync modes, of its file and tmp/ name with syncfs), and a failed flush
    /// takes the owner's file back (the undo runs as smtpd).
    @Test(arguments: FlushMode.allCases)
    func anOwnersDeliveryCompletesOnlyAfterItsFlush(mode: FlushMode) throws {
        let homes = Homes()
        defer { homes.scratch.remove() }
        let maildir = homes.home(of: Self.first) + "/Maildir"
        let flush = mode == .syncfs ? "syncfs" : "fsync"
        let flushed = mode == .syncfs ? maildir + "/tmp/" : maildir + "/new"
        let writer = MaildirWriter(hostname: "h", flushMode: mode) { operation, path in
            operation == flush && path.hasPrefix(flushed) ? EIO : nil
        }
        defer { writer.shutdown() }

        let result = deliverAndWait(
            writer, [DeliveryItem(maildir: maildir, chunks: [bytes("x")], owner: Self.first)])

        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.operation == flush && error.errno == EIO)
        #expect(error.object?.hasPrefix(flushed) == true, "\(error)")
        #expect(names(in: maildir + "/new").isEmpty)
        #expect(names(in: maildir + "/tmp").isEmpty)
    }

    /// Items of two owners and of none in one call: each file is its owner's, and the writer
    /// thread is itself again afterwards (the ownerless file is root's).
    @Test func oneBatchWritesEachItemAsItsOwnOwner() throws {
        let homes = Homes()
        defer { homes.scratch.remove() }
        let (a, b) = (homes.home(of: Self.first), homes.home(of: Self.second))
        let plain = homes.scratch.path + "/plain"
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }

        let paths = try deliverAndWait(
            writer,
            [
                DeliveryItem(maildir: a + "/Maildir", chunks: [bytes("a")], owner: Self.first),
                DeliveryItem(maildir: b + "/Maildir", chunks: [bytes("b")], owner: Self.second),
                DeliveryItem(maildir: a + "/Maildir", chunks: [bytes("c")], owner: Self.first),
                DeliveryItem(maildir: plain, chunks: [bytes("d")]),
            ]
        ).get()

        #expect(paths.count == 4)
        #expect(
            paths.map { owner(of: $0)?.first } == [
                Self.first.user, Self.second.user, Self.first.user, 0,
            ])
        let later = try deliverAndWait(writer, [DeliveryItem(maildir: plain, chunks: [bytes("e")])])
            .get()
        #expect(later.map { owner(of: $0)?.first } == [0])
    }
}

/// [uid, gid] of `path`.
private func owner(of path: String) -> [UInt32]? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return [info.st_uid, info.st_gid]
}
