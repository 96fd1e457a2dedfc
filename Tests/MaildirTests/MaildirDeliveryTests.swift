import Foundation
import LinuxSystem
import MailLabTestSupport
import MaildirDelivery
import MaildirInspection
import Testing

@Suite struct MaildirDeliveryTests {
    @Test(arguments: FlushMode.allCases)
    func deliveryWritesExactBytesIntoNew(mode: FlushMode) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "mx.example", flushMode: mode)
        defer { writer.shutdown() }
        let root = scratch.path + "/a/b/user"
        let prefix = bytes("Return-Path: <s@x>\r\n")
        let content = bytes("Subject: t\r\n\r\nbody\r\n")

        let paths = try deliverAndWait(
            writer, [DeliveryItem(maildir: root, chunks: [prefix, [], content])]
        ).get()

        #expect(paths.count == 1)
        let path = try #require(paths.first)
        #expect(path.hasPrefix(root + "/new/"))
        #expect(path.hasSuffix(".mx.example"))
        #expect(contents(of: path) == prefix + content)
        #expect(permissions(of: path) == 0o600)
        for folder in ["", "/tmp", "/new", "/cur"] {
            #expect(permissions(of: root + folder) == 0o700)
        }
        #expect(eventually { names(in: root + "/tmp").isEmpty })
        #expect(names(in: root + "/new").count == 1)
    }

    @Test func oneCallWithItemsForSeveralMaildirs() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let content = bytes("shared content\r\n")
        let roots = ["/u1", "/u2", "/u1"].map { scratch.path + $0 }
        let items = roots.enumerated().map { index, root in
            DeliveryItem(maildir: root, chunks: [bytes("X-Rcpt: \(index)\r\n"), content])
        }

        let paths = try deliverAndWait(writer, items).get()

        #expect(paths.count == 3)
        #expect(Set(paths).count == 3)
        for (index, path) in paths.enumerated() {
            #expect(path.hasPrefix(roots[index] + "/new/"))
            #expect(contents(of: path) == bytes("X-Rcpt: \(index)\r\n") + content)
        }
        #expect(names(in: scratch.path + "/u1/new").count == 2)
        #expect(names(in: scratch.path + "/u2/new").count == 1)
    }

    @Test func manyChunksAndPartialVectorsAreWrittenInOrder() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        // More chunks than IOV_MAX, some empty, one large.
        var chunks = (0..<2500).map { bytes(String($0 % 10)) + ($0 % 7 == 0 ? [] : [0x2C]) }
        chunks.insert([UInt8](repeating: 0x41, count: 1 << 20), at: 1234)
        chunks.insert([], at: 0)

        let paths = try deliverAndWait(
            writer, [DeliveryItem(maildir: scratch.path, chunks: chunks)]
        )
        .get()

        #expect(contents(of: paths[0]) == chunks.flatMap { $0 })
    }

    @Test func emptyCallSucceedsWithNoPaths() throws {
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        #expect(try deliverAndWait(writer, []).get() == [])
    }

    @Test(arguments: FlushMode.allCases)
    func concurrentCallsAllCompleteWithDistinctFiles(mode: FlushMode) throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h", flushMode: mode)
        let threads = 8
        let callsPerThread = 25
        let box = ResultBox()
        let group = DispatchGroup()
        let content = bytes(String(repeating: "x", count: 1000) + "\r\n")
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for call in 0..<callsPerThread {
                group.enter()
                let root = scratch.path + "/user\(call % 3)"
                writer.deliver([
                    DeliveryItem(maildir: root, chunks: [bytes("\(thread)-\(call)\r\n"), content])
                ]) { result in
                    box.set(result)
                    group.leave()
                }
            }
        }
        group.wait()
        writer.shutdown()

        let paths = try box.all.flatMap { try $0.get() }
        #expect(paths.count == threads * callsPerThread)
        #expect(Set(paths).count == paths.count)
        #expect(paths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        let delivered = (0..<3).map { names(in: scratch.path + "/user\($0)/new").count }
        #expect(delivered.reduce(0, +) == threads * callsPerThread)
        #expect((0..<3).allSatisfy { names(in: scratch.path + "/user\($0)/tmp").isEmpty })
    }

    @Test func shutdownFinishesQueuedWorkThenRefuses() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        let box = ResultBox()
        for index in 0..<40 {
            writer.deliver([DeliveryItem(maildir: scratch.path, chunks: [bytes("\(index)")])]) {
                box.set($0)
            }
        }
        writer.shutdown()
        #expect(box.all.count == 40)
        #expect(names(in: scratch.path + "/new").count == 40)

        let late = deliverAndWait(writer, [DeliveryItem(maildir: scratch.path, chunks: [[1]])])
        #expect(throws: SystemError("deliver", "", errno: ESHUTDOWN)) {
            try late.get()
        }
        writer.shutdown()  // a second shutdown is harmless
    }
}

@Suite struct MaildirThreadTests {
    @Test func completionsRunOnThreadsWithSignalsBlocked() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let blocked = NameBag()
        let done = DispatchSemaphore(value: 0)
        writer.deliver([DeliveryItem(maildir: scratch.path, chunks: [[1]])]) { _ in
            let status =
                (try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }
            blocked.add([
                line.map { String($0.dropFirst(7).trimmingCharacters(in: .whitespaces)) } ?? ""
            ])
            done.signal()
        }
        done.wait()
        let mask = try #require(UInt64(blocked.first, radix: 16))
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD] {
            #expect(mask & (1 << UInt64(signal - 1)) != 0, "signal \(signal) not blocked")
        }
    }
}
