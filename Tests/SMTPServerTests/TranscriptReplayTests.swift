import Foundation
import LinuxSystem
import MailLabTestSupport
import SessionTranscript
import Testing

/// The loop of docs/TRANSCRIPTS.md end to end: a real client (python smtplib, swaks) talks to
/// the real smtpd, which writes a transcript; `mlab chat --from-transcript` replays it against
/// a fresh smtpd and passes, and fails against one that answers differently.
@Suite(.requires(.smtpd, .mlab, .python3, .swaks))
struct TranscriptReplayTests {
    private static func config(_ directory: TempDir, extra: String = "") -> String {
        """
        listen on 127.0.0.1 port @PORT@
        action "local" maildir "\(directory.path)/Maildir"
        match from any for local action "local"
        transcript directory "\(directory.path)/transcripts"
        \(extra)
        """
    }

    /// Waits until the session's file is complete (the server's close is its last record).
    private static func finishedTranscript(in directory: String) throws -> String? {
        let deadline = Clock.monotonicSeconds() + 10
        while Clock.monotonicSeconds() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names {
                let path = directory + "/" + name
                if let transcript = try? TranscriptCodec.parse(readBytes(path)),
                    transcript.bytes(from: .client).count > 0,
                    transcript.records.contains(where: { $0.entry == .closed(by: .server) })
                {
                    return path
                }
            }
            usleep(20_000)
        }
        return nil
    }

    /// Sends one message with `client` ("python" or "swaks") to `port`; the body holds `token`
    /// and a line that starts with a dot.
    private static func send(with client: String, port: UInt16, token: String) throws
        -> ProgramResult
    {
        if client == "swaks" {
            return try runProgram(
                ExternalTool.swaks.path,
                [
                    "--server", "127.0.0.1:\(port)", "--from", "alice@example.org", "--to",
                    "root@localhost", "--header", "Subject: replay", "--body",
                    "body line with \(token)\n.leading dot", "--timeout", "10",
                ])
        }
        let script = """
            import smtplib, sys
            body = "Subject: replay\\r\\n\\r\\nbody line with " + sys.argv[2] + "\\r\\n.leading dot\\r\\n"
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
                assert s.sendmail("alice@example.org", ["root@localhost"], body) == {}
            """
        return try runProgram(ExternalTool.python3.path, ["-c", script, String(port), token])
    }

    @Test(arguments: ["python", "swaks"])
    func aTranscriptOfARealClientReplaysAgainstAFreshServer(client: String) throws {
        let first = try TempDir("replay-capture")
        defer { first.remove() }
        let capture = try SmtpdProcess(config: Self.config(first), directory: first)
        defer { capture.stop() }
        let token = "token-\(UInt32.random(in: 0...UInt32.max))"
        let sent = try Self.send(with: client, port: capture.port, token: token)
        #expect(sent.status == 0, "\(sent.output)\(sent.errorOutput)")
        let file = try #require(
            try Self.finishedTranscript(in: first.path + "/transcripts"),
            "no transcript: \(capture.log)")
        capture.stop()

        // A fresh server: the replay passes and delivers the same message again.
        let second = try TempDir("replay-fresh")
        defer { second.remove() }
        let fresh = try SmtpdProcess(config: Self.config(second), directory: second)
        defer { fresh.stop() }
        let replay = try runProgram(
            ExternalTool.mlab.path,
            ["chat", "--from-transcript", file, "--port", String(fresh.port)])
        #expect(replay.status == 0, "\(replay.output)\n\(replay.errorOutput)")
        #expect(replay.output.contains("S: 250 2.0.0 "))
        let stored = waitForFiles(second.path + "/Maildir", count: 1)
        #expect(stored.count == 1)
        let content = stored.first.map(readText) ?? ""
        #expect(content.contains("body line with \(token)") && content.contains("\n.leading dot"))
        fresh.stop()

        // A server that answers RCPT differently: the same replay fails at that reply.
        let third = try TempDir("replay-differs")
        defer { third.remove() }
        let differs = try SmtpdProcess(
            config: Self.config(third, extra: "fault at rcpt reply \"451 4.7.1 Try later\""),
            directory: third)
        defer { differs.stop() }
        let failed = try runProgram(
            ExternalTool.mlab.path,
            ["chat", "--from-transcript", file, "--port", String(differs.port)])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.output.contains("got 451 4.7.1 Try later"), "\(failed.output)")
    }

    @Test func aDamagedTranscriptIsRefusedWithFileAndLine() throws {
        let directory = try TempDir("replay-damaged")
        defer { directory.remove() }
        let file = try directory.write(
            "bad.transcript", "# MailLab session transcript 1\n0.000000 S \"220 x\\q\"\n")
        let result = try runProgram(ExternalTool.mlab.path, ["chat", "--from-transcript", file])
        #expect(result.status == 2)
        #expect(
            result.errorOutput.contains("\(file):2: unknown escape \\q"), "\(result.errorOutput)")
    }
}
