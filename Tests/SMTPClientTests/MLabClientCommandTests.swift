import Foundation
import Glibc
import MailLabTestSupport
import SMTPClient
import Testing

/// The `mlab` binary next to the test bundle (swift build --build-tests builds both).
let mlabBinary = ExternalTool.mlab.path
let chatDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("conf/chat")
    .path

/// A started mlab (or other) process with its pipes.
final class Running: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()

    init(_ arguments: [String], path: String = mlabBinary, stdin: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
    }

    /// Reads stderr until it contains `text` (for "Listening on").
    func waitForError(containing text: String) -> String {
        read(errors, until: text)
    }

    /// Reads stdout until it contains `text` (or the process closes it).
    func waitForOutput(containing text: String) -> String {
        read(output, until: text)
    }

    private func read(_ pipe: Pipe, until text: String) -> String {
        var seen = ""
        while !seen.contains(text) {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
        }
        return seen
    }

    /// Waits for the exit; returns status, stdout, stderr.
    func finish() -> (Int32, String, String) {
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: out, as: UTF8.self),
            String(decoding: err, as: UTF8.self)
        )
    }
}

func mlabRun(_ arguments: [String], stdin: String? = nil) throws -> (Int32, String, String) {
    try Running(arguments, stdin: stdin).finish()
}

/// A port that was free a moment ago.
func freePort(_ host: String = "127.0.0.1") throws -> UInt16 {
    let (fd, port) = try TCP.listen(host: host, port: 0)
    close(fd)
    return port
}

@Suite(.requires(.mlab))
struct MLabNcTests {
    func exchange(host: String, extra: [String] = [], clientInput: String = "from-client\n")
        throws -> (client: String, server: String)
    {
        let port = try freePort(host)
        let listener = try Running(["nc", "-v", "-l", host, String(port)], stdin: "from-server\n")
        defer { if listener.process.isRunning { listener.process.terminate() } }
        #expect(
            listener.waitForError(containing: "Listening on").contains(
                "Listening on \(host) \(port)"))
        let (clientStatus, clientOut, clientErr) = try mlabRun(
            ["nc", "-w", "5"] + extra + [host, String(port)], stdin: clientInput)
        let (serverStatus, serverOut, _) = listener.finish()
        #expect(clientStatus == 0, "\(clientErr)")
        #expect(serverStatus == 0)
        return (clientOut, serverOut)
    }

    @Test func listenAndConnectExchangeBothWaysOverIPv4() throws {
        let (client, server) = try exchange(host: "127.0.0.1")
        #expect(client == "from-server\n")
        #expect(server == "from-client\n")
    }

    @Test func listenAndConnectExchangeBothWaysOverIPv6() throws {
        let (client, server) = try exchange(host: "::1")
        #expect(client == "from-server\n")
        #expect(server == "from-client\n")
    }

    @Test func crlfOptionSendsCRLF() throws {
        let (_, server) = try exchange(host: "127.0.0.1", extra: ["-C"], clientInput: "a\nb\r\n")
        #expect(server == "a\r\nb\r\n")
    }

    @Test func keepListeningServesOneConnectionAfterAnother() throws {
        let port = try freePort()
        let listener = try Running(["nc", "-v", "-k", "-l", "127.0.0.1", String(port)], stdin: "")
        defer {
            if listener.process.isRunning { kill(listener.process.processIdentifier, SIGKILL) }
        }
        _ = listener.waitForError(containing: "Listening on")
        #expect(try mlabRun(["nc", "-w", "5", "127.0.0.1", String(port)], stdin: "one\n").0 == 0)
        #expect(try mlabRun(["nc", "-w", "5", "127.0.0.1", String(port)], stdin: "two\n").0 == 0)
        // Both relayed, and still listening after two connections; then stopped by pid.
        #expect(listener.waitForOutput(containing: "two\n") == "one\ntwo\n")
        #expect(listener.process.isRunning)
        kill(listener.process.processIdentifier, SIGKILL)
    }

    @Test func idleTimeoutEndsTheRelay() throws {
        let port = try freePort()
        // Neither side sends anything and neither stdin ends.
        let listener = try Running(["nc", "-v", "-l", "127.0.0.1", String(port)])
        defer {
            if listener.process.isRunning { kill(listener.process.processIdentifier, SIGKILL) }
        }
        _ = listener.waitForError(containing: "Listening on")
        let started = Date()
        let client = try Running(["nc", "-w", "0.5", "127.0.0.1", String(port)])
        let (status, _, _) = client.finish()
        #expect(status == 0)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func clearErrors() throws {
        let port = try freePort()
        let (status, _, errors) = try mlabRun(["nc", "127.0.0.1", String(port)], stdin: "")
        #expect(status == 1)
        #expect(
            errors
                == "mlab nc: connect to 127.0.0.1 port \(port) (tcp) failed: Connection refused\n")
        let (nsStatus, _, nsErrors) = try mlabRun(
            ["nc", "--netns", "mlt-no-such-ns", "127.0.0.1", "25"], stdin: "")
        #expect(nsStatus == 1)
        #expect(nsErrors.contains("unknown namespace mlt-no-such-ns"))
    }
}

/// Debian's python3-aiosmtpd: a server this client was not written with.
final class AioSMTPD: @unchecked Sendable {
    static let python = ExternalTool.aiosmtpd.path

    let port: UInt16
    let server: Running

    init() throws {
        port = try freePort()
        server = try Running(
            ["-u", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)"], path: Self.python)
        // Ready when it accepts a connection (it starts in well under a second).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let fd = try? TCP.connect(host: "127.0.0.1", port: port, timeout: 1) {
                close(fd)
                return
            }
            usleep(50_000)
        }
    }

    /// Stops the server (SIGKILL to its pid) and returns what it printed.
    func stop() -> String {
        // SIGKILL: the test runner may hand SIGTERM down blocked or ignored (seen: aiosmtpd survived it).
        if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
        return server.finish().1
    }
}

@Suite(.requires(.mlab, .aiosmtpd))
struct AioSMTPDTests {
    @Test func sendDeliversAndPrintsASwaksTranscript() throws {
        let aio = try AioSMTPD()
        let (status, transcript, _) = try mlabRun([
            "send", "--port", String(aio.port), "--from", "a@b.example", "--to", "c@d.example",
            "--to", "e@f.example", "--subject", "aio test", "--body", "hello\\n.dot line", "--ehlo",
            "client.example",
        ])
        let printed = aio.stop()
        #expect(status == 0)
        #expect(
            transcript.hasPrefix(
                "=== Trying 127.0.0.1:\(aio.port)...\n=== Connected to 127.0.0.1.\n<-  220 "))
        #expect(transcript.contains("\n -> EHLO client.example\n<-  250-"))
        #expect(transcript.contains("\n -> RCPT TO:<e@f.example>\n<-  250 OK\n"))
        #expect(transcript.contains("\n -> ..dot line\n -> .\n<-  250 OK\n -> QUIT\n<-  221 Bye\n"))
        #expect(transcript.hasSuffix("=== Connection closed with remote host.\n"))
        // aiosmtpd's debugging handler prints the message it received, unstuffed.
        #expect(printed.contains("---------- MESSAGE FOLLOWS ----------"))
        #expect(printed.contains("Subject: aio test\n"))
        #expect(printed.contains("To: c@d.example, e@f.example\n"))
        #expect(printed.contains("\nhello\n.dot line\n"))
    }

    @Test func quitAfterRcptSendsNoMessage() throws {
        let aio = try AioSMTPD()
        let (status, transcript, _) = try mlabRun([
            "send", "--port", String(aio.port), "--to", "c@d.example", "--quit-after", "rcpt",
        ])
        let printed = aio.stop()
        #expect(status == 0)
        #expect(!transcript.contains(" -> DATA"))
        #expect(transcript.contains(" -> QUIT\n<-  221 Bye\n"))
        #expect(!printed.contains("MESSAGE FOLLOWS"))
    }

    @Test func sendToNothingIsExitTwo() throws {
        let port = try freePort()
        let (status, transcript, _) = try mlabRun([
            "send", "--port", String(port), "--to", "x@y.example",
        ])
        #expect(status == 2)
        #expect(transcript.contains("*** Error connecting to 127.0.0.1:\(port):\n"))
    }

    static let aioScript = """
        # aiosmtpd 1.4 answers differently from OpenSMTPD; this checks the client, not the server.
        connect
        expect 220 * Python SMTP *
        send EHLO client.example
        expect 250 8BITMIME
        pipeline
        send MAIL FROM:<a@b.example>
        send RCPT TO:<c@d.example>
        expect 250 OK
        expect 250 OK
        end
        send DATA
        expect 354 End data with <CR><LF>.<CR><LF>
        body <<END
        Subject: chat

        .starts with a dot
        END
        expect 250 OK
        send QUIT
        expect 221 Bye
        expect close
        """

    @Test func chatScriptPassesAgainstAiosmtpd() throws {
        let aio = try AioSMTPD()
        let script = try ChatScriptParser.parse(Self.aioScript, name: "aio.chat")
        let outcome = ChatRunner.run(
            script, options: ChatOptions(host: "127.0.0.1", port: aio.port))
        let printed = aio.stop()
        #expect(outcome.passed, "\(outcome.transcript.joined(separator: "\n"))")
        #expect(outcome.transcript.contains("C: ..starts with a dot"))
        #expect(printed.contains("\n.starts with a dot\n"))
    }

    @Test func chatCommandGradesScriptsWithTapAndJUnit() throws {
        let aio = try AioSMTPD()
        defer { _ = aio.stop() }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mlab-chat-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.chat").path
        let bad = directory.appendingPathComponent("bad.chat").path
        let junit = directory.appendingPathComponent("report.xml").path
        try Self.aioScript.write(toFile: good, atomically: true, encoding: .utf8)
        try "connect\nexpect 220\nsend HELO x\nexpect 250\nsend MAIL FROM:<a@b>\nexpect 553 5.1.0\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)

        let port = ["--server", "127.0.0.1", "--port", String(aio.port)]
        let (status, tap, _) = try mlabRun(["chat", good, bad, "--tap", "--junit", junit] + port)
        #expect(status == 1)
        #expect(tap.hasPrefix("TAP version 13\n1..2\nok 1 - \(good)\nnot ok 2 - \(bad)\n"))
        #expect(
            tap.contains("  message: '\(bad):6: expected 553 5.1.0, got 250 OK (code differs)'"))
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("tests=\"2\" failures=\"1\""))

        // Plain mode: the transcript, then the account of the first mismatch.
        let (plainStatus, transcript, _) = try mlabRun(["chat", bad] + port)
        #expect(plainStatus == 1)
        #expect(transcript.contains("C: MAIL FROM:<a@b>\nS: 250 OK\n"))
        #expect(
            transcript.hasSuffix("!! \(bad):6: expected 553 5.1.0, got 250 OK (code differs)\n"))

        let (goodStatus, _, _) = try mlabRun(["chat", good] + port)
        #expect(goodStatus == 0)
    }

    @Test func shippedScriptsParse() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: chatDirectory)
            .filter { $0.hasSuffix(".chat") }.sorted()
        #expect(
            names == [
                "auth-bdat.chat", "bad-sender.chat", "header-rule.chat", "pipelined.chat",
                "relay.chat", "seed.chat",
            ])
        for name in names {
            let text = try String(contentsOfFile: chatDirectory + "/" + name, encoding: .utf8)
            _ = try ChatScriptParser.parse(text, name: name)
        }
    }
}
