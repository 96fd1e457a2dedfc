import Glibc
import LinuxSystem
import MaildirDelivery
import SMTPConfig
import Testing

@testable import SMTPServer

/// The name a network side may ask its parent to create (docs/PRIVILEGES.md): the shape the
/// recorder makes, nothing else.
@Suite struct TranscriptFileNameTests {
    static let good = "20261203T134000-3f2a0c1d9e8b7a65.transcript"

    @Test func theRecordersNamesAreAccepted() {
        #expect(TranscriptFileName.isValid(Self.good))
        #expect(
            TranscriptFileName.isValid(
                TranscriptFileName.make(
                    compactStamp: "19700101T000000", sessionID: "0000000000000000")))
        #expect(
            TranscriptFileName.isValid(
                TranscriptFileName.make(
                    compactStamp: "20991231T235959", sessionID: "ffffffffffffffff")))
    }

    @Test(arguments: [
        "", ".", "..", "../x", "a/b", "/etc/passwd", "x.transcript",
        "../20261203T134000-3f2a0c1d9e8b7a65.transcript",
        "20261203T134000-3f2a0c1d9e8b7a65.transcript/",
        "20261203T134000-3f2a0c1d9e8b7a6/.transcript",
        "20261203T134000-3f2a0c1d9e8b7a65.transcripT",
        "20261203T134000-3f2a0c1d9e8b7a65.transcripts",
        "20261203T134000-3f2a0c1d9e8b7a65.txt",
        "20261203T134000-3F2A0C1D9E8B7A65.transcript",
        "20261203T134000-3f2a0c1d9e8b7a650.transcript",
        "20261203T134000-3f2a0c1d9e8b7a6.transcript",
        "2026120xT134000-3f2a0c1d9e8b7a65.transcript",
        "20261203t134000-3f2a0c1d9e8b7a65.transcript",
        "20261203T134000_3f2a0c1d9e8b7a65.transcript",
        "20261203T134000-3f2a0c1d9e8b7a6\0.transcript",
        "20261203T13400é-3f2a0c1d9e8b7a6.transcript",
        String(repeating: "a", count: 300) + ".transcript",
    ])
    func anythingElseIsRefused(name: String) {
        #expect(!TranscriptFileName.isValid(name))
    }
}

/// The parent's transcript directory and TRANSCRIPT records over a real socket pair: the
/// delivery service on its thread, the test as the network side.
@Suite struct SplitTranscriptTests {
    static let name = TranscriptFileNameTests.good

    /// A temporary folder holding the transcript directory `t` (made by the parent), a
    /// delivery service serving it and the child's end of the socket pair.
    final class Parent: @unchecked Sendable {
        let root: String
        let directory: String
        let service: DeliveryService
        let childEnd: Int32
        let logged = LoggedLines()

        init(transcripts: Bool = true) throws {
            root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split-transcripts")
            directory = root + "/t"
            let (parentEnd, childEnd) = try DescriptorPassing.socketPair()
            self.childEnd = childEnd
            let logged = self.logged
            let opened: TranscriptDirectory?
            do {
                opened = transcripts ? try TranscriptDirectory(path: directory) : nil
            } catch {
                closeDescriptor(parentEnd)
                closeDescriptor(childEnd)
                FileSystem.removeTree(root)
                throw error
            }
            service = DeliveryService(
                socket: parentEnd, route: { _, _, _ in .reject },
                writer: MaildirWriter(hostname: "split-test"), maximumContentBytes: 100,
                credentials: nil, transcripts: opened, log: { logged.add($0) })
            try service.start()
        }

        /// Sends TRANSCRIPT `name` and returns the answer with its descriptors.
        func request(_ name: String, id: UInt64 = 1) throws -> (SplitRecord, [Int32]) {
            try DescriptorPassing.send(
                childEnd, SplitRecord.transcript(id: id, name: name).encoded())
            let answer = try DescriptorPassing.receive(
                childEnd, maximumBytes: SplitRecord.maximumBytes, maximumDescriptors: 4)
            return (try SplitRecord(decoding: answer.bytes), answer.descriptors)
        }

        func entries(_ path: String) -> [String] {
            ((try? FileSystem.directoryEntries(path)) ?? []).sorted()
        }

        deinit {
            // shutdown, not close: it also ends a SplitClient's read waiting on this end.
            Glibc.shutdown(childEnd, Int32(SHUT_RDWR))
            service.waitUntilFinished()
            closeDescriptor(childEnd)
            FileSystem.removeTree(root)
        }
    }

    @Test func theDirectoryIsMadePrivateAndARequestGetsAWriteOnlyNewFile() throws {
        let parent = try Parent()
        let folder = try FileSystem.linkStatus(parent.directory)
        #expect(folder.st_mode & S_IFMT == S_IFDIR && folder.st_mode & 0o7777 == 0o700)
        let (answer, descriptors) = try parent.request(Self.name, id: 7)
        #expect(answer == .opened(id: 7, files: 1, more: false))
        try #require(descriptors.count == 1)
        let fd = descriptors[0]
        defer { closeDescriptor(fd) }
        try FileSystem.writeAll(fd, [Array("# MailLab session transcript 1\n".utf8)], path: "t")
        // Write-only: the child cannot read a transcript back, this one or another.
        var byte: UInt8 = 0
        #expect(Glibc.lseek(fd, 0, SEEK_SET) == 0)
        #expect(Glibc.read(fd, &byte, 1) == -1 && errno == EBADF)
        let info = try FileSystem.status(fd, path: "t")
        #expect(info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o7777 == 0o600)
        #expect(info.st_uid == geteuid())
        #expect(parent.entries(parent.directory) == [Self.name])
        #expect(
            try FileSystem.readFile(parent.directory + "/" + Self.name)
                == Array("# MailLab session transcript 1\n".utf8))
    }

    @Test func aHostileNameCreatesNothingAndIsFailed() throws {
        let parent = try Parent()
        let hostile = [
            "../x", "../" + Self.name, "a/b", ".", "..", "", "/tmp/" + Self.name,
            String(repeating: "x", count: 4000), Self.name + "/", "x.transcript",
        ]
        for (index, name) in hostile.enumerated() {
            let (answer, descriptors) = try parent.request(name, id: UInt64(index + 1))
            #expect(descriptors.isEmpty)
            guard case .failed(UInt64(index + 1), "create transcript", _, EINVAL) = answer else {
                Issue.record("\(name.prefix(40)): answered \(answer)")
                continue
            }
        }
        #expect(parent.entries(parent.directory).isEmpty)
        #expect(parent.entries(parent.root) == ["t"])
        #expect(
            parent.logged.all.filter {
                $0.hasPrefix("warn: delivery service: TRANSCRIPT ") && $0.hasSuffix("; refused")
            }.count == hostile.count, "\(parent.logged.all)")
        // Refused, not a protocol error: the connection goes on.
        let (answer, descriptors) = try parent.request(Self.name, id: 99)
        #expect(answer == .opened(id: 99, files: 1, more: false))
        for fd in descriptors { closeDescriptor(fd) }
    }

    /// O_EXCL and O_NOFOLLOW: neither an existing file nor a symbolic link in its place is
    /// reused (a link pointing elsewhere would have the parent write there).
    @Test func anExistingNameOrALinkInItsPlaceIsRefused() throws {
        let parent = try Parent()
        try FileSystem.writeFile(parent.directory + "/" + Self.name, Array("old\n".utf8))
        let (answer, descriptors) = try parent.request(Self.name, id: 3)
        #expect(descriptors.isEmpty)
        guard case .failed(3, "open", _, EEXIST) = answer else {
            Issue.record("answered \(answer)")
            return
        }
        #expect(try FileSystem.readFile(parent.directory + "/" + Self.name) == Array("old\n".utf8))

        let other = "20261203T134000-0000000000000001.transcript"
        let target = parent.root + "/elsewhere"
        #expect(symlink(target, parent.directory + "/" + other) == 0)
        let (linked, linkedDescriptors) = try parent.request(other, id: 4)
        #expect(linkedDescriptors.isEmpty)
        guard case .failed(4, "open", _, EEXIST) = linked else {
            Issue.record("answered \(linked)")
            return
        }
        #expect(!FileSystem.exists(target))
    }

    @Test func withoutATranscriptDirectoryARequestIsFailed() throws {
        let parent = try Parent(transcripts: false)
        let (answer, descriptors) = try parent.request(Self.name)
        #expect(descriptors.isEmpty)
        guard case .failed(1, _, _, ENOENT) = answer else {
            Issue.record("answered \(answer)")
            return
        }
        #expect(!FileSystem.exists(parent.directory))
    }

    @Test func aSymbolicLinkOrAFileAsTheDirectoryIsRefusedByName() throws {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "maillab-split-transcripts")
        defer { FileSystem.removeTree(root) }
        try FileSystem.mkdir(root + "/real", mode: 0o700)
        #expect(symlink(root + "/real", root + "/link") == 0)
        try FileSystem.writeFile(root + "/file", [])
        #expect {
            _ = try TranscriptDirectory(path: root + "/link")
        } throws: { error in
            "\(error)" == "transcript directory \(root)/link: a symbolic link "
                + "(smtpd does not follow it: name the directory itself)"
        }
        #expect {
            _ = try TranscriptDirectory(path: root + "/file")
        } throws: { error in
            "\(error)" == "transcript directory \(root)/file: not a directory"
        }
        #expect(try FileSystem.directoryEntries(root + "/real").isEmpty)
    }

    /// The network side's recorder end to end: it opens nothing itself, the parent creates
    /// the session's file, and the capture's lines land in it.
    @Test func aRecorderOnTheNetworkSideWritesIntoTheParentsFiles() throws {
        let parent = try Parent()
        let client = SplitClient(socket: parent.childEnd, log: { _ in })
        try client.start()
        let logged = LoggedLines()
        let recorder = try TranscriptRecorder(
            TranscriptSettings(directory: parent.directory),
            files: RemoteTranscriptFiles(client: client), log: LogSink { logged.add($0) })
        var capture = try #require(
            TranscriptCapture(
                recorder: recorder, sessionID: "00000000000000aa", peer: "127.0.0.1:1",
                listener: "127.0.0.1:25", serverName: "vm", log: { _ in }))
        capture.record(.data(.client, Array("EHLO x\r\n".utf8)), log: { _ in })
        capture.finish()
        recorder.stop()
        #expect(parent.entries(parent.directory) == [capture.file])
        let text = String(
            decoding: try FileSystem.readFile(parent.directory + "/" + capture.file), as: UTF8.self)
        #expect(text.hasPrefix("# MailLab session transcript 1\n@ session 00000000000000aa\n"))
        #expect(text.hasSuffix(" C \"EHLO x\\r\\n\"\n"))
        #expect(logged.all.isEmpty, "\(logged.all)")
    }
}
