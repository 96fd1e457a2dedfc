import Glibc
import LinuxSystem
import MailLabTestSupport
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
                MessageEnvelope(
                    id: "1", sender: Self.sender,
                    recipients: [Self.recipient("bob"), Self.recipient("carol")])))
        stream.write(Array("Subject: hi\n\nbody\n".utf8))
        #expect(pair.entries("tmp").count == 2)
        #expect(pair.entries("new").isEmpty)
        let result = try #require(Self.commit(stream))
        let paths = try result.get()
        #expect(paths.count == 2)
        #expect(pair.entries("new").count == 2)
        // The tmp/ names go after a later flush covers the new/ names.
        #expect(eventually { pair.entries("tmp").isEmpty })
        // The parent's route, never the child's path; the parent's prefix, the child's bytes.
        #expect(paths.allSatisfy { $0.hasPrefix(pair.root + "/new/") })
        let stored = try FileSystem.readFile(paths[0])
        #expect(
            String(decoding: stored, as: UTF8.self)
                == "Return-Path: <a@example.com>\nDelivered-To: bob@example.org\nSubject: hi\n\nbody\n"
        )
    }

    /// A message its session took whole goes as one DELIVER record; one too big for a
    /// record is streamed on the store's own thread. Both end as files in new/.
    @Test func wholeMessagesAreStoredShortOrLong() throws {
        let pair = try Pair()
        for size in [20, 70_000] {
            let content =
                Array("Subject: whole\n\n".utf8) + [UInt8](repeating: 0x61, count: size)
                + [0x0A]
            let message = Message(
                id: "0000abcd", sender: Self.sender, recipients: [Self.recipient("dora")],
                content: content, protocolName: "ESMTP")
            let result = Mutex<Result<[String], SystemError>?>(nil)
            pair.store.deliver(message) { outcome in result.withLock { $0 = outcome } }
            #expect(eventually { result.withLock { $0 != nil } })
            let paths = try #require(result.withLock { $0 }).get()
            #expect(paths.count == 1 && paths[0].hasPrefix(pair.root + "/new/"))
            let stored = try FileSystem.readFile(paths[0])
            #expect(
                stored
                    == Array("Return-Path: <a@example.com>\nDelivered-To: dora@example.org\n".utf8)
                    + content)
        }
        #expect(eventually { pair.entries("tmp").isEmpty })
    }

    @Test func anAbortLeavesNothing() throws {
        let pair = try Pair()
        let stream = try #require(
            pair.store.beginStream(
                MessageEnvelope(id: "1", sender: .null, recipients: [Self.recipient("bob")])))
        stream.write(Array("half a message".utf8))
        #expect(pair.entries("tmp").count == 1)
        stream.abort()
        #expect(eventually { pair.entries("tmp").isEmpty })
        #expect(pair.entries("new").isEmpty)
        // The connection goes on.
        let next = try #require(
            pair.store.beginStream(
                MessageEnvelope(id: "1", sender: .null, recipients: [Self.recipient("bob")])))
        next.write(Array("x\n".utf8))
        #expect(try Self.commit(next)?.get().count == 1)
    }

    @Test func anActionTheConfigurationDoesNotGiveIsRefusedAndNothingWritten() throws {
        let pair = try Pair()
        let stream = try #require(
            pair.store.beginStream(
                MessageEnvelope(
                    id: "1", sender: .null, recipients: [Self.recipient("bob", action: "elsewhere")]
                )))
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

    /// A started delivery service whose other end the test drives with raw records; every
    /// recipient goes to the Maildir `root`.
    static func rawService(root: String, maximumContentBytes: UInt64) throws -> (
        DeliveryService, Int32
    ) {
        let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
        let service = DeliveryService(
            socket: parentEnd,
            route: { address, _, _ in
                .accept(RecipientRoute(action: "local", user: address.localPart, mailbox: root))
            },
            writer: MaildirWriter(hostname: "split-test"),
            maximumContentBytes: maximumContentBytes, credentials: nil, log: { _ in })
        do {
            try service.start()
        } catch {
            closeDescriptor(childEnd)
            throw error
        }
        return (service, childEnd)
    }

    /// The network side as a hostile child: raw records on the socket.
    @Test func aMalformedRecordEndsTheConnectionAndAbortsOpenTransactions() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split")
        defer { FileSystem.removeTree(root) }
        let (service, childEnd) = try Self.rawService(root: root, maximumContentBytes: 1 << 20)
        defer { closeDescriptor(childEnd) }
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
        let (_, childEnd) = try Self.rawService(root: root, maximumContentBytes: 100)
        defer { closeDescriptor(childEnd) }
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
            store.beginStream(
                MessageEnvelope(id: "1", sender: .null, recipients: [Self.recipient("bob")])))
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

/// The delivery side against a hostile network side: random sequences of records, mostly
/// well-formed, some not (a BEGIN of an open id, a COMMIT of none, a wrong size, garbage).
/// The parent never traps; whatever the sequence, once the connection ends nothing is left
/// in tmp/, and every file in new/ is one a COMMIT of the right size asked for.
@Suite struct SplitHostileChildTests {
    @Test func randomRecordSequencesLeaveNothingInTmp() throws {
        var random = SeededRandom(seed: 0x0BAD_C41D)
        var totalCommitted = 0
        var endedEarly = 0
        for round in 0..<40 {
            let root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split")
            defer { FileSystem.removeTree(root) }
            let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
            let service = DeliveryService(
                socket: parentEnd,
                route: { address, action, _ in
                    action == "local"
                        ? .accept(
                            RecipientRoute(action: "local", user: address.localPart, mailbox: root))
                        : .reject
                },
                writer: MaildirWriter(hostname: "split-test"), maximumContentBytes: 64,
                credentials: nil, log: { _ in })
            try service.start()
            var open: [UInt64: [Int32]] = [:]
            var committed = 0
            var ended = false
            for _ in 0..<Int.random(in: 1...60, using: &random) where !ended {
                let id = UInt64.random(in: 1...6, using: &random)
                let packet: [UInt8]
                let kind = Int.random(in: 0..<11, using: &random)
                switch kind {
                case 0..<4, 9:
                    let count = Int.random(in: 0...3, using: &random)
                    let recipients = (0..<count).map { index in
                        SplitRecipient(
                            address: SplitAddress(localPart: "u\(index)", domain: "example.org"),
                            original: "u\(index)@example.org",
                            action: Int.random(in: 0..<8, using: &random) == 0 ? "other" : "local")
                    }
                    packet =
                        try
                        (kind == 9
                        ? SplitRecord.deliver(
                            id: id, sender: nil, recipients: recipients, content: [])
                        : SplitRecord.begin(id: id, sender: nil, recipients: recipients))
                        .encoded()
                case 4..<7:
                    // Mostly the open transaction's true size (nothing written: 0).
                    let size: UInt64 = Int.random(in: 0..<5, using: &random) == 0 ? 7 : 0
                    packet = try SplitRecord.commit(id: id, contentBytes: size).encoded()
                case 7..<9:
                    packet = try SplitRecord.abort(id: id).encoded()
                default:
                    packet = (0..<Int.random(in: 1...20, using: &random)).map { _ in
                        UInt8.random(in: 0...255, using: &random)
                    }
                }
                do {
                    try DescriptorPassing.send(childEnd, packet)
                } catch {
                    ended = true
                    break
                }
                // Read the answer a BEGIN or COMMIT gets before the next record.
                guard let record = try? SplitRecord(decoding: packet) else { continue }
                switch record {
                case .begin, .commit, .deliver:
                    guard
                        let answer = try? DescriptorPassing.receive(
                            childEnd, maximumBytes: SplitRecord.maximumBytes,
                            maximumDescriptors: 16)
                    else {
                        ended = true
                        break
                    }
                    if answer.isEndOfFile {
                        ended = true
                        break
                    }
                    switch try? SplitRecord(decoding: answer.bytes) {
                    case .opened(let answered, _, _)?:
                        open[answered] = answer.descriptors
                    case .committed?:
                        committed += 1
                        if case .commit = record {
                            for fd in open.removeValue(forKey: id) ?? [] { closeDescriptor(fd) }
                        }
                    default:
                        for fd in answer.descriptors { closeDescriptor(fd) }
                        if case .commit = record {
                            for fd in open.removeValue(forKey: id) ?? [] { closeDescriptor(fd) }
                        }
                    }
                case .abort:
                    for fd in open.removeValue(forKey: id) ?? [] { closeDescriptor(fd) }
                default:
                    break
                }
            }
            for fds in open.values { for fd in fds { closeDescriptor(fd) } }
            totalCommitted += committed
            if ended { endedEarly += 1 }
            closeDescriptor(childEnd)
            service.waitUntilFinished()
            // A delivered file's tmp/ name goes after the flush that follows its link.
            var tmp: [String] = []
            _ = eventually {
                tmp = (try? FileSystem.directoryEntries(root + "/tmp")) ?? []
                return tmp.isEmpty
            }
            #expect(tmp.isEmpty, "round \(round): left in tmp/: \(tmp)")
            let new = (try? FileSystem.directoryEntries(root + "/new")) ?? []
            for name in new {
                let text = String(
                    decoding: try FileSystem.readFile(root + "/new/" + name), as: UTF8.self)
                #expect(text.hasPrefix("Delivered-To: u") && text.hasSuffix("@example.org\n"))
            }
            #expect(committed > 0 || new.isEmpty)
        }
        // The sequences reached both: stored messages, and connections the parent ended.
        #expect(totalCommitted > 0 && endedEarly > 0, "\(totalCommitted) \(endedEarly)")
    }
}
