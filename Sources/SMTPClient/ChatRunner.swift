import Glibc
import LinuxSystem

/// Where and how a script runs; command-line values override the script's `connect`.
public struct ChatOptions: Sendable {
    public var host: String?
    public var port: UInt16?
    public var namespace: String?
    /// Used when neither the script nor the overrides name them.
    public var defaultHost = "127.0.0.1"
    public var defaultPort: UInt16 = 2525
    /// Seconds per reply until the script says `timeout`.
    public var timeout: Double = 10

    public init(host: String? = nil, port: UInt16? = nil, namespace: String? = nil) {
        self.host = host
        self.port = port
        self.namespace = namespace
    }
}

/// The first expectation that did not hold.
public struct ChatFailure: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// What the script wanted (`250 2.0.0 *`, `close`, …).
    public var expected: String
    /// What happened instead (the reply, `connection closed`, `timeout after 10 s …`).
    public var got: String

    public init(file: String, line: Int, expected: String, got: String) {
        self.file = file
        self.line = line
        self.expected = expected
        self.got = got
    }

    public var description: String { "\(file):\(line): expected \(expected), got \(got)" }
}

/// The result of one script.
public struct ChatOutcome: Sendable {
    public var script: String
    public var failure: ChatFailure?
    /// The transcript, formatted (`C: `, `S: `, `== `, `!! ` lines).
    public var transcript: [String]
    public var passed: Bool { failure == nil }

    public init(script: String, failure: ChatFailure?, transcript: [String]) {
        self.script = script
        self.failure = failure
        self.transcript = transcript
    }
}

/// Runs chat scripts against a server, one blocking connection at a time.
public enum ChatRunner {
    /// Runs `script`; `output` sees each transcript line as it happens.
    public static func run(
        _ script: ChatScript, options: ChatOptions, output: @escaping (String) -> Void = { _ in }
    ) -> ChatOutcome {
        var run = ChatRun(script: script, options: options, output: output)
        run.execute(script.steps)
        run.connection?.close()
        if let failure = run.failure { run.emit("!! \(failure)") }
        return ChatOutcome(script: script.name, failure: run.failure, transcript: run.transcript)
    }
}

/// The state of one run: the connection, the timeout, the transcript so far.
private struct ChatRun {
    let script: ChatScript
    let options: ChatOptions
    let output: (String) -> Void
    var timeout: Double
    var connection: SMTPConnection?
    var transcript: [String] = []
    var failure: ChatFailure?

    init(script: ChatScript, options: ChatOptions, output: @escaping (String) -> Void) {
        self.script = script
        self.options = options
        self.output = output
        self.timeout = options.timeout
    }

    mutating func emit(_ line: String) {
        transcript.append(line)
        output(line)
    }

    mutating func fail(_ step: ChatStep, expected: String, got: String) {
        failure = ChatFailure(file: script.name, line: step.line, expected: expected, got: got)
    }

    mutating func execute(_ steps: [ChatStep]) {
        for step in steps {
            guard failure == nil else { return }
            perform(step)
        }
    }

    mutating func perform(_ step: ChatStep) {
        switch step.action {
        case .connect(let host, let port, let namespace):
            connection?.close()
            connection = nil
            let host = options.host ?? host ?? options.defaultHost
            let port = options.port ?? port ?? options.defaultPort
            let namespace = options.namespace ?? namespace
            let place = namespace.map { " in namespace \($0)" } ?? ""
            do {
                let opened = try SMTPConnection.connect(
                    host: host, port: port, namespace: namespace, timeout: timeout)
                connection = opened
                let peer = (try? SocketAddress.peer(of: opened.fd))?.description ?? host
                emit("== connected to \(peer)\(place)")
            } catch {
                fail(
                    step, expected: "a connection to \(host) port \(port)\(place)", got: "\(error)")
            }
        case .timeout(let seconds):
            timeout = seconds
            connection?.timeout = seconds
        case .sleep(let seconds):
            Clock.sleep(seconds: seconds)
        case .send(let bytes):
            write(bytes, step)
        case .expect(let expectation):
            expect(expectation, step)
        case .expectClose:
            guard let connection = attached(step, expected: "close") else { return }
            let seconds = timeout
            let (result, lines) = observed(connection) { () throws(ClientError) in
                try connection.waitForClose(timeout: seconds)
            }
            transcript += lines
            do {
                if !(try result.get()) {
                    fail(
                        step, expected: "close",
                        got: "connection still open after \(formatSeconds(timeout)) s")
                }
            } catch {
                fail(step, expected: "close", got: "\(error)")
            }
            self.connection?.close()
            self.connection = nil
        case .close:
            connection?.close()
            connection = nil
            emit("== closed by the client")
        case .pipeline(let inner):
            // One write for every send in the group: that is what makes it a pipeline.
            var bytes: [UInt8] = []
            for case .send(let chunk) in inner.map(\.action) { bytes += chunk }
            if !bytes.isEmpty { write(bytes, step) }
            for innerStep in inner where failure == nil {
                switch innerStep.action {
                case .send: continue
                default: perform(innerStep)
                }
            }
        }
    }

    mutating func attached(_ step: ChatStep, expected: String) -> SMTPConnection? {
        if let connection { return connection }
        fail(step, expected: expected, got: "no connection (missing connect, or closed earlier)")
        return nil
    }

    mutating func write(_ bytes: [UInt8], _ step: ChatStep) {
        guard let connection = attached(step, expected: "to send") else { return }
        let (result, lines) = observed(connection) { () throws(ClientError) in
            try connection.write(bytes)
        }
        transcript += lines
        do {
            try result.get()
        } catch {
            fail(step, expected: "to send", got: "\(error)")
        }
    }

    mutating func expect(_ expectation: ReplyExpectation, _ step: ChatStep) {
        guard let connection = attached(step, expected: expectation.description) else { return }
        let seconds = timeout
        let (result, lines) = observed(connection) { () throws(ClientError) in
            try connection.readReply(timeout: seconds)
        }
        transcript += lines
        do {
            let reply = try result.get()
            if let what = expectation.mismatch(reply) {
                fail(
                    step, expected: expectation.description,
                    got: "\(reply.wireLines.joined(separator: " / ")) (\(what) differs)")
            }
        } catch {
            fail(step, expected: expectation.description, got: "\(error)")
        }
    }

    /// Runs `body` with the connection's events formatted, printed and collected.
    func observed<T>(
        _ connection: SMTPConnection, _ body: () throws(ClientError) -> T
    ) -> (Result<T, ClientError>, [String]) {
        let lines = CollectedLines()
        let output = self.output
        connection.observer = { event in
            let line = TranscriptFormat.chat(event)
            lines.all.append(line)
            output(line)
        }
        defer { connection.observer = { _ in } }
        do throws(ClientError) {
            return (.success(try body()), lines.all)
        } catch {
            return (.failure(error), lines.all)
        }
    }
}

private final class CollectedLines {
    var all: [String] = []
}

/// Transcript line formats.
public enum TranscriptFormat {
    /// Chat style, as the seed's dialogue and the reference transcripts: `C: `, `S: `.
    public static func chat(_ event: TranscriptEvent) -> String {
        switch event {
        case .sent(let line): "C: \(line)"
        case .received(let line): "S: \(line)"
        case .closedByServer: "S: <connection closed by server>"
        case .note(let text): "== \(text)"
        }
    }

    /// swaks style: ` -> ` client, `<-  ` server (`<** ` for error replies), `=== ` notes.
    public static func swaks(_ event: TranscriptEvent) -> String {
        switch event {
        case .sent(let line): " -> \(line)"
        case .received(let line):
            line.first.map { $0 == "4" || $0 == "5" } == true ? "<** \(line)" : "<-  \(line)"
        case .closedByServer: "=== Connection closed by remote host."
        case .note(let text): "=== \(text)"
        }
    }
}
