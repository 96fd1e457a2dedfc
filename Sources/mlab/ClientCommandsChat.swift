import ArgumentParser
import Glibc
import LinuxSystem
import SMTPClient
import SessionTranscript

/// `mlab chat SCRIPT…`: scripted SMTP conversations (docs/CLIENT.md).
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Run scripted SMTP conversations and check every reply.",
        discussion: """
            The script format is described in docs/CLIENT.md; conf/chat/ has examples. Exit \
            status: 0 when every expectation held, 1 when one did not (the first mismatch is \
            reported as SCRIPT:LINE: expected …, got …), 2 when a script cannot be read. \
            --from-transcript FILE replays a session transcript of smtpd (docs/TRANSCRIPTS.md) \
            as a script: the client's bytes exactly, each reply checked by code, enhanced code \
            and its text with every word holding a digit matched by *.
            """)

    @Argument(help: "Chat scripts (e.g. conf/chat/seed.chat).") var scripts: [String] = []
    @Option(
        name: .customLong("from-transcript"),
        help: "Replay this session transcript (repeatable), as a chat script made from it.")
    var transcripts: [String] = []
    @Flag(
        name: .customLong("print-script"),
        help: "Print the chat scripts made from --from-transcript files instead of running them.")
    var printScript = false
    @Option(help: "Server to connect to, overriding every script's connect line.")
    var server: String?
    @Option(help: "Port, overriding every script's connect line.") var port: UInt16?
    @Option(name: .customLong("netns"), help: "Connect from inside this named namespace.")
    var namespace: String?
    @Option(help: "Seconds allowed per reply until a script says otherwise.")
    var timeout: Double = 10
    @Flag(help: "Print TAP (version 13) instead of the transcripts.") var tap = false
    @Option(help: "Also write a JUnit XML report to this file.") var junit: String?
    @Flag(name: .shortAndLong, help: "Print only failures (and the TAP report).") var quiet = false

    func validate() throws {
        if scripts.isEmpty && transcripts.isEmpty {
            throw ValidationError("name at least one chat script or --from-transcript FILE")
        }
        if printScript && transcripts.isEmpty {
            throw ValidationError("--print-script needs --from-transcript FILE")
        }
        if timeout <= 0 { throw ValidationError("--timeout needs a positive number of seconds") }
    }

    func run() throws {
        var parsed: [ChatScript] = []
        var unreadable = false
        for path in scripts {
            do {
                parsed.append(try ChatScriptParser.parse(try readTextFile(path), name: path))
            } catch {
                printToStandardError("\(error)")
                unreadable = true
            }
        }
        for path in transcripts {
            do {
                let text = try Self.script(fromTranscript: path)
                if printScript {
                    writeToStandardOutput(text)
                    continue
                }
                parsed.append(try ChatScriptParser.parse(text, name: path + " (as chat)"))
            } catch {
                printToStandardError("\(error)")
                unreadable = true
            }
        }
        if unreadable { throw ExitCode(2) }
        if printScript { return }

        var options = ChatOptions(host: server, port: port, namespace: namespace)
        options.timeout = timeout
        let showTranscript = !tap && !quiet
        var outcomes: [ChatOutcome] = []
        for script in parsed {
            if showTranscript && parsed.count > 1 { writeToStandardOutput("### \(script.name)\n") }
            let outcome = ChatRunner.run(script, options: options) { line in
                if showTranscript { writeToStandardOutput(line + "\n") }
            }
            if !showTranscript && !tap, let failure = outcome.failure {
                printToStandardError("\(failure)")
            }
            outcomes.append(outcome)
        }
        if tap { writeToStandardOutput(ChatReport.tap(outcomes)) }
        if let junit { try writeFile(junit, ChatReport.junit(outcomes)) }
        if !tap && parsed.count > 1 {
            let failed = outcomes.filter { !$0.passed }.count
            writeToStandardOutput(
                "\(outcomes.count - failed) of \(outcomes.count) scripts passed\n")
        }
        if outcomes.contains(where: { !$0.passed }) { throw ExitCode.failure }
    }

    /// The chat script of a transcript file; its errors as `FILE:LINE: message`.
    static func script(fromTranscript path: String) throws -> String {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path, limit: 1 << 30)
        } catch {
            throw ValidationError("\(path): cannot read: \(error.reason)")
        }
        do {
            let transcript = try TranscriptCodec.parse(bytes)
            return try TranscriptChat.script(from: transcript, name: path)
        } catch let error as TranscriptParseError {
            throw ValidationError("\(path):\(error.line): \(error.message)")
        } catch let error as TranscriptChatError {
            throw ValidationError("\(path):\(error.line): \(error.message)")
        }
    }

    private func writeFile(_ path: String, _ text: String) throws {
        do {
            try FileSystem.writeFile(path, Array(text.utf8))
        } catch {
            throw ValidationError("\(path): cannot write: \(error.reason)")
        }
    }
}
