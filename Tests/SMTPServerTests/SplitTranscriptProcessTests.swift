import Foundation
import Glibc
import MailLabTestSupport
import SessionTranscript
import Testing

/// The real smtpd as root with `transcript directory`: split like any other configuration
/// (docs/PRIVILEGES.md), the network side's transcripts created by the root parent.
@Suite struct SplitTranscriptProcessTests {
    static func config(_ directory: TempDir, transcripts: String) -> String {
        """
        listen on 127.0.0.1 port @PORT@
        action "local" maildir "\(directory.path)/Maildir"
        match from any for local action "local"
        transcript directory "\(transcripts)"
        """
    }

    /// The transcript in `directory` with client bytes and the server's close (the session
    /// is over), waited for up to 10 s.
    static func finishedTranscript(in directory: String) -> (String, SessionTranscript)? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names {
                if let transcript = try? TranscriptCodec.parse(readBytes(directory + "/" + name)),
                    !transcript.bytes(from: .client).isEmpty,
                    transcript.records.contains(where: { $0.entry == .closed(by: .server) })
                {
                    return (directory + "/" + name, transcript)
                }
            }
            usleep(20_000)
        }
        return nil
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func aTranscriptDirectorySplitsAndItsFilesAreRootsWithTheSessionsBytes() throws {
        let directory = try TempDir("split-transcripts")
        defer { directory.remove() }
        try ProcessSplitTests.ensureUnprivilegedUser()
        let transcripts = directory.path + "/transcripts"
        let smtpd = try SmtpdProcess(
            config: Self.config(directory, transcripts: transcripts), directory: directory,
            extraArguments: [])
        defer { smtpd.stop() }
        #expect(smtpd.networkSidePID != nil, "\(smtpd.log)")
        #expect(!smtpd.log.contains("one process"), "\(smtpd.log)")

        let client = try LineClient(port: smtpd.port)
        var received = try client.readReply().joined()
        let sent = [
            "EHLO split.example\r\n", "MAIL FROM:<a@example.com>\r\n",
            "RCPT TO:<root@localhost>\r\n", "DATA\r\n",
            "Subject: split\r\n\r\nwritten by _maillab, created by root\r\n.\r\n", "QUIT\r\n",
        ]
        for piece in sent {
            try client.send(piece)
            received += try client.readReply().joined()
        }
        #expect(received.contains("\r\n250 2.0.0 "), "\(received)")
        #expect(client.closesWithin(5))
        #expect(maildirFiles(directory.path + "/Maildir").count == 1)

        let (path, transcript) = try #require(
            Self.finishedTranscript(in: transcripts), "no transcript: \(smtpd.log)")
        #expect(transcript.bytes(from: .client) == Array(sent.joined().utf8))
        #expect(transcript.bytes(from: .server) == Array(received.utf8))
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o7777 == 0o600)
        #expect(info.st_uid == 0 && info.st_gid == 0)
        #expect(lstat(transcripts, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o700 && info.st_uid == 0)
        #expect(!smtpd.log.contains("dropped"), "\(smtpd.log)")
    }

    /// A write that fails on the network side (a full tmpfs) drops the transcript; the child
    /// may not remove the parent's file, so it empties it. The mail is not affected.
    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func aFullDiskOnTheNetworkSideLeavesAnEmptyFileAndKeepsTheMail() throws {
        let directory = try TempDir("split-transcripts-full")
        defer { directory.remove() }
        try ProcessSplitTests.ensureUnprivilegedUser()
        let mountPoint = directory.path + "/tiny"
        try FileManager.default.createDirectory(
            atPath: mountPoint, withIntermediateDirectories: false)
        let mount = try runProgram(
            "/usr/bin/mount", ["-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", mountPoint])
        try #require(mount.status == 0, "\(mount.errorOutput)")
        defer { _ = try? runProgram("/usr/bin/umount", ["-l", mountPoint]) }
        let smtpd = try SmtpdProcess(
            config: Self.config(directory, transcripts: mountPoint), directory: directory,
            extraArguments: [])
        defer { smtpd.stop() }
        #expect(smtpd.networkSidePID != nil, "\(smtpd.log)")
        let client = try LineClient(port: smtpd.port)
        try SessionTranscriptFileTests.sendBigMessage(client)
        #expect(maildirFiles(directory.path + "/Maildir").count == 1)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !smtpd.log.contains("an empty file is left") {
            usleep(20_000)
        }
        let dropped = smtpd.log.split(separator: "\n").first {
            $0.contains("warn: transcript \(mountPoint)/") && $0.contains("dropped")
        }
        #expect(
            dropped?.contains(
                "No space left on device; an empty file is left (the network side may not "
                    + "remove it)") == true, "\(smtpd.log)")
        // Beside the readiness probe's transcript: this session's file, empty (its space given
        // back).
        let names = (try? FileManager.default.contentsOfDirectory(atPath: mountPoint)) ?? []
        let sizes = names.map { readBytes(mountPoint + "/" + $0).count }
        #expect(sizes.contains(0), "\(names) \(sizes)")
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func aSymbolicLinkAsTheTranscriptDirectoryStopsSmtpdNamingIt() throws {
        let directory = try TempDir("split-transcripts-link")
        defer { directory.remove() }
        try ProcessSplitTests.ensureUnprivilegedUser()
        try FileManager.default.createDirectory(
            atPath: directory.path + "/real", withIntermediateDirectories: false)
        let link = directory.path + "/link"
        #expect(symlink(directory.path + "/real", link) == 0)
        #expect {
            _ = try SmtpdProcess(
                config: Self.config(directory, transcripts: link), directory: directory,
                extraArguments: [])
        } throws: { error in
            "\(error)".contains("fatal: transcript directory \(link): a symbolic link")
        }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path + "/real").isEmpty)
    }
}
