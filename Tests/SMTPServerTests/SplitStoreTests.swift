import Glibc
import LinuxSystem
import MaildirDelivery
import SMTPProtocol
import Synchronization
import Testing

@testable import SMTPServer

/// The two halves of the process split in one process, over a real socket pair: the
/// delivery service on its thread, the network side's store on the test's.
@Suite struct SplitStoreTests {
    /// A delivery side for one Maildir (action `local`; any other action is not the
    /// configuration's) and a network side's store talking to it.
    final class Pair: @unchecked Sendable {
        let root: String
        let service: DeliveryService
        let client: SplitClient
        let store: RemoteStore
        let logged = LoggedLines()

        init() throws {
            root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split")
            let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
            let root = self.root
            let logged = self.logged
            service = DeliveryService(
                socket: parentEnd,
                route: { address, action, _ in
                    action == "local"
                        ? .accept(
                            RecipientRoute(action: "local", user: address.localPart, mailbox: root))
                        : .reject
                },
                writer: MaildirWriter(hostname: "split-test"), maximumContentBytes: 1 << 20,
                credentials: nil, log: { line in logged.add(line) })
            try service.start()
            client = SplitClient(socket: childEnd, log: { line in logged.add(line) })
            try client.start()
            store = RemoteStore(client: client)
        }

        func entries(_ folder: String) -> [String] {
            (try? FileSystem.directoryEntries(root + "/" + folder)) ?? []
        }

        deinit { FileSystem.removeTree(root) }
    }

    static func recipient(_ local: String, action: String = "local") -> AcceptedRecipient {
        AcceptedRecipient(
            address: MailAddress(localPart: local, domain: "example.org"),
            original: "\(local)@example.org",
            route: RecipientRoute(action: action, user: local, mailbox: "/child/said/so"))
    }

    static let sender = ReversePath.address(MailAddress(localPart: "a", domain: "example.com"))

    /// Polls `condition` for up to 5 s.
    static func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Clock.monotonicSeconds() + 5
        while Clock.monotonicSeconds() < deadline {
            if condition() { return true }
            Clock.sleep(seconds: 0.005)
        }
        return condition()
    }

    static func commit(_ stream: any MessageStream) -> Result<[String], SystemError>? {
        let result = Mutex<Result<[String], SystemError>?>(nil)
        stream.commit { outcome in result.withLock { $0 = outcome } }
        _ = eventually { result.withLock { $0 != nil } }
        return result.withLock { $0 }
    }

    @Test func aMessageLandsInNewOnlyAfterCommitted() throws {
        let pair = try Pair()
        let stream = try #require(
            pair.store.beginStream(
                sender: Self.sender, recipients: [Self.recipient("bob"), Self.recipient("carol")]))
        stream.write(Array("Subject: hi\n\nbody\n".utf8))
        #expect(pair.entries("tmp").count == 2)
        #expect(pair.entries("new").isEmpty)
        let result = try #require(Self.commit(stream))
        let paths = try result.get()
        #expect(paths.count == 2)
        #expect(pair.entries("new").count == 2)
        #expect(pair.entries("tmp").isEmpty)
        // The parent's route, never the child's path; the parent's prefix, the child's bytes.
        #expect(paths.allSatisfy { $0.hasPrefix(pair.root + "/new/") })
        let stored = try FileSystem.readFile(paths[0])
        #expect(
            String(decoding: stored, as: UTF8.self)
                == "Return-Path: <a@example.com>\nDelivered-To: bob@example.org\nSubject: hi\n\nbody\n"
        )
    }

    @Test func anAbortLeavesNothing() throws {
        let pair = try Pair()
        let stream = try #require(
            pair.store.beginStream(sender: .null, recipients: [Self.recipient("bob")]))
        stream.write(Array("half a message".utf8))
        #expect(pair.entries("tmp").count == 1)
        stream.abort()
        #expect(Self.eventually { pair.entries("tmp").isEmpty })
        #expect(pair.entries("new").isEmpty)
        // The connection goes on.
        let next = try #require(
            pair.store.beginStream(sender: .null, recipients: [Self.recipient("bob")]))
        next.write(Array("x\n".utf8))
        #expect(try Self.commit(next)?.get().count == 1)
    }

    @Test func anActionTheConfigurationDoesNotGiveIsRefusedAndNothingWritten() throws {
        let pair = try Pair()
        let stream = try #require(
            pair.store.beginStream(
                sender: .null, recipients: [Self.recipient("bob", action: "elsewhere")]))
        stream.write(Array("x\n".utf8))
        let result = try #require(Self.commit(stream))
        guard case .failure(let error) = result else {
            Issue.record("stored: \(result)")
            return
        }
        #expect(error.operation == "route")
        #expect(DeliveryFailure(storing: error).isTemporary)
        #expect(pair.entries("tmp").isEmpty && pair.entries("new").isEmpty)
    }

    /// The network side as a hostile child: raw records on the socket.
    @Test func aMalformedRecordEndsTheConnectionAndAbortsOpenTransactions() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split")
        defer { FileSystem.removeTree(root) }
        let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
        defer { closeDescriptor(childEnd) }
        let service = DeliveryService(
            socket: parentEnd,
            route: { address, _, _ in
                .accept(RecipientRoute(action: "local", user: address.localPart, mailbox: root))
            },
            writer: MaildirWriter(hostname: "split-test"), maximumContentBytes: 1 << 20,
            credentials: nil, log: { _ in })
        try service.start()
        let begin = SplitRecord.begin(
            id: 1, sender: nil,
            recipients: [
                SplitRecipient(
                    address: SplitAddress(localPart: "bob", domain: "example.org"),
                    original: "bob@example.org", action: "local")
            ])
        try DescriptorPassing.send(childEnd, try begin.encoded())
        let opened = try DescriptorPassing.receive(
            childEnd, maximumBytes: SplitRecord.maximumBytes, maximumDescriptors: 4)
        #expect(try SplitRecord(decoding: opened.bytes) == .opened(id: 1, files: 1, more: false))
        #expect(opened.descriptors.count == 1)
        // Write-only: the child cannot read what it is given.
        var byte: UInt8 = 0
        #expect(Glibc.read(opened.descriptors[0], &byte, 1) == -1)
        for fd in opened.descriptors { closeDescriptor(fd) }
        #expect((try FileSystem.directoryEntries(root + "/tmp")).count == 1)

        try DescriptorPassing.send(childEnd, [1, 4, 0, 0])  // a COMMIT cut short
        let end = try DescriptorPassing.receive(childEnd, maximumBytes: 64)
        #expect(end.isEndOfFile)
        service.waitUntilFinished()
        #expect((try FileSystem.directoryEntries(root + "/tmp")).isEmpty)
        #expect((try FileSystem.directoryEntries(root + "/new")).isEmpty)
    }

    @Test func aCommitWhoseSizeTheFilesDoNotHaveIsRefused() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split")
        defer { FileSystem.removeTree(root) }
        let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
        defer { closeDescriptor(childEnd) }
        let service = DeliveryService(
            socket: parentEnd,
            route: { address, _, _ in
                .accept(RecipientRoute(action: "local", user: address.localPart, mailbox: root))
            },
            writer: MaildirWriter(hostname: "split-test"), maximumContentBytes: 100,
            credentials: nil, log: { _ in })
        try service.start()
        for (id, claimed) in [(UInt64(1), UInt64(5)), (2, 1000)] {
            let begin = SplitRecord.begin(
                id: id, sender: nil,
                recipients: [
                    SplitRecipient(
                        address: SplitAddress(localPart: "bob", domain: "example.org"),
                        original: "bob@example.org", action: "local")
                ])
            try DescriptorPassing.send(childEnd, try begin.encoded())
            let opened = try DescriptorPassing.receive(
                childEnd, maximumBytes: SplitRecord.maximumBytes, maximumDescriptors: 4)
            try FileSystem.writeAll(opened.descriptors[0], [Array("abc".utf8)], path: "tmp")
            for fd in opened.descriptors { closeDescriptor(fd) }
            try DescriptorPassing.send(
                childEnd, try SplitRecord.commit(id: id, contentBytes: claimed).encoded())
            let answer = try DescriptorPassing.receive(
                childEnd, maximumBytes: SplitRecord.maximumBytes)
            guard case .failed(id, "commit", _, EIO) = try SplitRecord(decoding: answer.bytes)
            else {
                Issue.record("COMMIT of \(claimed) bytes answered \(answer.bytes)")
                continue
            }
        }
        #expect((try FileSystem.directoryEntries(root + "/tmp")).isEmpty)
        #expect((try FileSystem.directoryEntries(root + "/new")).isEmpty)
    }

    @Test func aDescriptorFromTheChildEndsTheConnection() throws {
        let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
        defer { closeDescriptor(childEnd) }
        let service = DeliveryService(
            socket: parentEnd, route: { _, _, _ in .reject },
            writer: MaildirWriter(hostname: "split-test"), maximumContentBytes: 100,
            credentials: nil, log: { _ in })
        try service.start()
        try DescriptorPassing.send(
            childEnd, try SplitRecord.abort(id: 1).encoded(), descriptors: [0])
        #expect(try DescriptorPassing.receive(childEnd, maximumBytes: 64).isEndOfFile)
        service.waitUntilFinished()
    }

    @Test func whenTheDeliverySideIsGoneNothingIsAcknowledged() throws {
        let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
        let client = SplitClient(socket: childEnd, log: { _ in })
        try client.start()
        closeDescriptor(parentEnd)
        let store = RemoteStore(client: client)
        let stream = try #require(
            store.beginStream(sender: .null, recipients: [Self.recipient("bob")]))
        let result = try #require(Self.commit(stream))
        guard case .failure(let error) = result else {
            Issue.record("acknowledged: \(result)")
            return
        }
        #expect(error.errno == EPIPE)
        #expect(DeliveryFailure(storing: error).isTemporary)
    }
}

final class LoggedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
