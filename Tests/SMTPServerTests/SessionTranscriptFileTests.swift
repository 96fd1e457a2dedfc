import Foundation
import LinuxSystem
import MailLabTestSupport
import SMTPConfig
import SessionTranscript
import Testing

@testable import SMTPServer

/// Transcripts written by the server (docs/TRANSCRIPTS.md): both directions byte for byte,
/// the TLS boundary, the size cap, and a full disk that loses the transcript, not the mail.
@Suite struct SessionTranscriptFileTests {
    /// One session storing a message of 800 lines of 80 bytes (some 64 KiB of transcript),
    /// then QUIT: what the transcript size tests fill their files with.
    static func sendBigMessage(_ client: LineClient) throws {
        _ = try client.readReply()
        #expect(try client.command("HELO x").hasPrefix("250"))
        #expect(try client.command("MAIL FROM:<a@b.example>") == "250 2.0.0 Ok")
        #expect(try client.command("RCPT TO:<root@localhost>").hasPrefix("250"))
        #expect(try client.command("DATA").hasPrefix("354"))
        let line = String(repeating: "x", count: 78) + "\r\n"
        try client.send("Subject: big\r\n\r\n" + String(repeating: line, count: 800) + ".\r\n")
        #expect(try client.readReply().first?.hasPrefix("250 2.0.0 ") == true)
        #expect(try client.command("QUIT") == "221 2.0.0 Bye")
    }

    /// The transcripts in `directory` once the server is stopped (which waits for the writer).
    private func transcripts(in directory: String) throws -> [(
        name: String, transcript: SessionTranscript
    )] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map {
            ($0, try TranscriptCodec.parse(readBytes(directory + "/" + $0)))
        }
    }

    @Test func bothDirectionsAreCapturedByteForByteInOneFilePerSession() async throws {
        let directory = try TempDir("transcripts")
        defer { directory.remove() }
        let server = try InProcessServer(config: localDeliveryConfig) {
            $0.transcripts = TranscriptSettings(directory: directory.path)
        }
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        var received = try client.readReply().joined()
        // Split inside a command and inside its CRLF: the capture keeps what came, as it came.
        let sent = [
            "EH", "LO client.example\r", "\n",
            "MAIL FROM:<a@b.example>\r\nRCPT TO:<root@localhost>\r\n",
            "DATA\r\n", "Subject: t\r\n\r\nline\r\n..dot\r\n.\r\n", "QUIT\r\n",
        ]
        try client.send(sent[0])
        usleep(50_000)
        try client.send(sent[1])
        usleep(50_000)
        try client.send(sent[2])
        received += try client.readReply().joined()
        try client.send(sent[3])
        received += try client.readReply().joined() + client.readReply().joined()
        try client.send(sent[4])
        received += try client.readReply().joined()
        try client.send(sent[5])
        received += try client.readReply().joined()
        try client.send(sent[6])
        received += try client.readReply().joined()
        #expect(client.closesWithin(5))
        let second = try LineClient(port: server.port)  // a second session: a second file
        #expect(try second.readReply().first?.hasPrefix("220 ") == true)
        server.server.stop(graceSeconds: 5)

        let files = try transcripts(in: directory.path)
        try #require(files.count == 2)
        let (name, transcript) = try #require(
            files.first { $0.transcript.bytes(from: .client).count > 0 })
        #expect(name.hasSuffix(".transcript"))
        #expect(transcript.bytes(from: .client) == Array(sent.joined().utf8))
        #expect(transcript.bytes(from: .server) == Array(received.utf8))
        #expect(transcript.value(of: "listener") == "127.0.0.1:\(server.port)")
        #expect(transcript.value(of: "peer")?.hasPrefix("127.0.0.1:") == true)
        #expect(transcript.value(of: "server") == "vm")
        #expect(transcript.value(of: "start")?.hasSuffix("Z") == true)
        // The three pieces of EHLO are three records, 50 ms apart, in order.
        let clientRecords = transcript.records.filter {
            if case .data(.client, _) = $0.entry { return true } else { return false }
        }
        #expect(
            clientRecords.prefix(3).map(\.entry)
                == sent.prefix(3).map { .data(.client, Array($0.utf8)) })
        #expect(clientRecords[2].microseconds - clientRecords[0].microseconds >= 90_000)
        #expect(
            transcript.records.map(\.microseconds)
                == transcript.records.map(\.microseconds).sorted())
        #expect(transcript.records.contains { $0.entry == .closed(by: .server) })
        // CR and LF are visible in the file itself.
        let text = readText(directory.path + "/" + name)
        #expect(text.contains(" C \"LO client.example\\r\"\n"))
        #expect(text.contains(" S \"221 2.0.0 Bye\\r\\n\"\n"))
    }

    @Test(.requires(.python3))
    func theTLSBoundaryIsMarkedAndWhatFollowsIsThePlaintext() async throws {
        let directory = try TempDir("transcripts-tls")
        defer { directory.remove() }
        let files = try TestCertificate.make()
        var options = MailServer.Options()
        options.loops = 1
        options.serverName = "vm"
        options.tls = MailServer.TLSSetting(
            certificate: files.certificate, key: files.key, mode: .starttls)
        options.transcripts = TranscriptSettings(directory: directory.path)
        let server = try MailServer.inMemory(options: options)
        try server.start()
        defer { server.stop() }
        let script = """
            import smtplib, ssl, sys
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
                s.starttls(context=ssl._create_unverified_context())
                s.sendmail("a@b.example", ["c@d.example"], "Subject: secret\\r\\n\\r\\nsecret body\\r\\n")
            """
        let result = try runTool(python, ["-c", script, String(server.port)])
        #expect(result.status == 0, "\(result.errors)")
        _ = try await server.nextMessage(timeout: 10)
        server.stop()

        let transcript = try #require(try transcripts(in: directory.path).first?.transcript)
        let boundary = try #require(
            transcript.records.firstIndex {
                if case .tls = $0.entry { return true } else { return false }
            })
        guard case .tls(let text) = transcript.records[boundary].entry else { return }
        #expect(text.hasPrefix("TLSv1."))
        let before = SessionTranscript(records: Array(transcript.records[..<boundary]))
        let after = SessionTranscript(records: Array(transcript.records[(boundary + 1)...]))
        #expect(
            String(decoding: before.bytes(from: .client), as: UTF8.self).hasSuffix("STARTTLS\r\n"))
        #expect(
            String(decoding: before.bytes(from: .server), as: UTF8.self).hasSuffix(
                "220 2.0.0 Ready to start TLS\r\n"))
        // After the boundary: the decrypted conversation, both sides.
        let clientAfter = String(decoding: after.bytes(from: .client), as: UTF8.self)
        #expect(clientAfter.hasPrefix("ehlo ") || clientAfter.hasPrefix("EHLO "))
        #expect(clientAfter.contains("secret body\r\n.\r\n"))
        #expect(
            String(decoding: after.bytes(from: .server), as: UTF8.self).contains("Message accepted")
        )
        #expect(!String(decoding: before.bytes(from: .client), as: UTF8.self).contains("secret"))
    }

    @Test func aTranscriptStopsAtItsSizeCapWithANoteAndTheSessionGoesOn() async throws {
        let directory = try TempDir("transcripts-cap")
        defer { directory.remove() }
        let server = try InProcessServer(config: localDeliveryConfig) {
            $0.transcripts = TranscriptSettings(directory: directory.path, maxSize: 2048)
        }
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        for _ in 0..<100 {
            #expect(try client.command("NOOP") == "250 2.0.0 Ok")
        }
        #expect(try client.command("QUIT") == "221 2.0.0 Bye")
        server.server.stop(graceSeconds: 5)
        let (name, transcript) = try #require(try transcripts(in: directory.path).first)
        let size = readBytes(directory.path + "/" + name).count
        #expect(size <= 2048 && size > 1500, "\(size) bytes")
        #expect(transcript.records.last?.entry == .truncated)
        #expect(transcript.records.filter { $0.entry == .truncated }.count == 1)
    }

    /// A tmpfs of 16 KiB as the transcript directory: the message (64 KiB) does not fit in its
    /// transcript. The mail is stored and acknowledged; the transcript is removed and logged.
    @Test(.enabled(if: getuid() == 0, "mounts a tmpfs"))
    func aFullDiskDropsTheTranscriptWithALogLineAndKeepsTheMail() async throws {
        let directory = try TempDir("transcripts-full")
        defer { directory.remove() }
        let mountPoint = directory.path + "/tiny"
        try FileManager.default.createDirectory(
            atPath: mountPoint, withIntermediateDirectories: false)
        let mount = try runTool(
            "/usr/bin/mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", mountPoint])
        try #require(mount.status == 0, "\(mount.errors)")
        defer { _ = try? runTool("/usr/bin/umount", [mountPoint]) }
        let server = try InProcessServer(config: localDeliveryConfig) {
            $0.transcripts = TranscriptSettings(directory: mountPoint)
        }
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        try Self.sendBigMessage(client)
        server.server.stop(graceSeconds: 5)
        #expect(maildirFiles(server.maildir).count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint).isEmpty)
        #expect(
            server.log.lines.contains {
                $0.hasPrefix("warn: transcript \(mountPoint)/") && $0.contains("dropped")
                    && $0.contains("No space left on device")
            }, "\(server.log.lines)")
    }

    @Test func anUnusableTranscriptDirectoryStopsTheServerFromStarting() throws {
        let directory = try TempDir("transcripts-bad")
        defer { directory.remove() }
        let file = try directory.write("plain-file", "x")
        var options = MailServer.Options()
        options.transcripts = TranscriptSettings(directory: file)
        #expect {
            _ = try MailServer.inMemory(options: options)
        } throws: { error in
            "\(error)".contains("transcript directory \(file)")
        }
    }
}
