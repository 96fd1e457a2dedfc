import Foundation
import LinuxSystem
import MailLabTestSupport
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

/// maildir-fixtures/ at the top of the package. A fresh checkout gives every file the
/// checkout time as mtime, and messages without a time in their name sort by mtime: pin all
/// mtimes once so listings (and the golden files) do not depend on checkout order.
let fixtures: String = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("maildir-fixtures").path
    let pinned: [FileAttributeKey: Any] = [
        .modificationDate: Date(timeIntervalSince1970: 1_700_000_000)
    ]
    if let walker = FileManager.default.enumerator(atPath: path) {
        for case let relative as String in walker where !relative.hasPrefix("expected") {
            try? FileManager.default.setAttributes(pinned, ofItemAtPath: path + "/" + relative)
        }
    }
    return path
}()

@Suite struct MaildirReadingTests {
    @Test func goodMaildirListsMessagesOldestFirstWithFlags() throws {
        let maildir = Maildir(root: fixtures + "/good")

        let messages = try maildir.messages()

        #expect(
            messages.map(\.name) == [
                "1700000000.M1P100Q0.fixture:2,S", "1700000100.M1P100Q1.fixture",
                "1700000200.M5P100Q2.fixture:2,FRS",
            ])
        #expect(messages.map(\.folder) == [.cur, .new, .cur])
        #expect(messages.map(\.flags) == ["S", "", "FRS"])
        #expect(messages.map(\.info) == ["2,S", "", "2,FRS"])
        #expect(
            messages.map(\.uniqueName) == [
                "1700000000.M1P100Q0.fixture", "1700000100.M1P100Q1.fixture",
                "1700000200.M5P100Q2.fixture",
            ])
        #expect(messages.map(\.deliveryTime) == [1_700_000_000, 1_700_000_100, 1_700_000_200])
        for message in messages {
            let bytes = try maildir.read(message)
            #expect(Int64(bytes.count) == message.size)
            #expect(bytes == contents(of: message.path))
            #expect(
                message.path == maildir.root + "/" + message.folder.rawValue + "/" + message.name)
        }
        #expect(maildir.problems() == [])
    }

    @Test func brokenMaildirReportsEachProblem() throws {
        let root = fixtures + "/broken"
        let maildir = Maildir(root: root)

        let found = Set(
            maildir.problems().map { "\($0.kind.rawValue) \($0.path.dropFirst(root.count))" })

        #expect(
            found == [
                "temporary file /tmp/1700000300.M1P1Q9.fixture",
                "info in new/ /new/1700000100.M1P1Q1.fixture:2,S",
                "empty message /new/1700000150.M1P1Q2.fixture",
                "not a regular file /new/subdir",
                "no info in cur/ /cur/1700000000.M1P1Q0.fixture",
                "bad flags /cur/1700000050.M1P1Q3.fixture:2,SR",
                "bad flags /cur/1700000060.M1P1Q4.fixture:1,x",
                "duplicate /cur/1700000100.M1P1Q1.fixture:2,RS",
            ])
        // Listing still works: every regular file, no folder, no tmp/ file.
        #expect(try maildir.messages().count == 6)
    }

    @Test func missingOrWrongFoldersAreReported() {
        let noCur = Maildir(root: fixtures + "/no-cur")
        #expect(noCur.problems().map(\.kind) == [.missingFolder])
        #expect(throws: SystemError("opendir", noCur.cur, errno: ENOENT)) {
            try noCur.messages()
        }
        let curIsAFile = Maildir(root: fixtures + "/cur-is-a-file")
        #expect(curIsAFile.problems().map(\.kind) == [.notAFolder])
        #expect(
            curIsAFile.problems().first?.description
                == "not a folder: \(curIsAFile.cur) (opendir \(curIsAFile.cur): Not a directory)")
    }

    @Test func deliveredMessagesReadBackAndSurviveAMoveToCur() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let content = bytes("Subject: hi\r\n\r\nbody\r\n")
        _ = try deliverAndWait(writer, [DeliveryItem(maildir: scratch.path, chunks: [content])])
            .get()
        // Its tmp/ name goes after the next flush (a `temporary file` problem until then).
        #expect(eventually { names(in: scratch.path + "/tmp").isEmpty })
        let maildir = Maildir(root: scratch.path)
        let message = try #require(try maildir.messages().first)
        #expect(message.folder == .new)
        #expect(message.size == Int64(content.count))

        // A mail reader moves it into cur/ and marks it seen.
        #expect(rename(message.path, maildir.cur + "/" + message.name + ":2,S") == 0)

        #expect(try maildir.read(message) == content)
        #expect(try maildir.messages().map(\.flags) == ["S"])
        #expect(maildir.problems() == [])
    }

    @Test func readOfAVanishedMessageFails() throws {
        let message = MaildirMessage(
            name: "1.M1P1Q1.h:2,S", folder: .cur, path: fixtures + "/good/cur/1.M1P1Q1.h:2,S",
            size: 0, mtime: 0)
        #expect(throws: SystemError("open", message.path, errno: ENOENT)) {
            try Maildir(root: fixtures + "/good").read(message)
        }
    }

    @Test(arguments: [
        ("", true), ("S", true), ("FRS", true), ("DFPRST", true), ("SR", false),
        ("SS", false), ("S1", false), ("a", true), ("Sa", true), ("aS", false),
    ])
    func flagsMustBeLettersInAsciiOrder(flags: String, valid: Bool) {
        #expect(Maildir.isValidFlags(flags) == valid)
    }
}
