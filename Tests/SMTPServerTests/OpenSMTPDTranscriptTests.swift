import Foundation
import Testing

/// One transcript of reference Appendix A: the client's writes and what the server sent
/// after each (golden tests as data, like OpenSMTPD's smtpscript).
struct Transcript: CustomTestStringConvertible, Sendable {
    enum Expect: Sendable, Equatable {
        case line(String)
        case closed
        case silent
    }
    struct Step: Sendable {
        /// nil: the client closes the connection.
        var send: [UInt8]?
        var expect: [Expect]
    }
    var name: String
    /// Reference A.3: the instance with `max-message-size 1000`, `max-rcpt 2`, `max-mails 2`.
    var limitsInstance: Bool
    var steps: [Step]

    var testDescription: String { name }
}

/// Scenarios where MailLab departs on purpose (docs/ARCHITECTURE.md); each is tested for
/// MailLab's own behaviour in ReferenceChecksTests.
let departingTranscripts: Set<String> = [
    "pipelining", "smuggle-single-write", "smuggle-lf-dot-crlf-split", "smuggle-lf-dot-lf",
    "ehlo-size-and-too-big",
    // Abbreviated in the reference (`… (100 Received: lines total …)`); rows 25 test them.
    "loop-detect", "99-received-headers",
]

/// Parses the reference's notation: `\r`, `\n`, `\t`, `\\`, `\xNN`, `<'X' * N>`.
func transcriptBytes(_ text: Substring) -> [UInt8]? {
    var bytes: [UInt8] = []
    var rest = text[...]
    while let first = rest.first {
        if rest.hasPrefix("<'"), let match = rest.prefixMatch(of: #/<'(.)' \* (\d+)>/#) {
            bytes += Array(repeating: Array(String(match.1).utf8)[0], count: Int(match.2)!)
            rest = rest[match.range.upperBound...]
        } else if first == "\\" {
            let code = rest.dropFirst().first
            switch code {
            case "r": bytes.append(0x0D)
            case "n": bytes.append(0x0A)
            case "t": bytes.append(0x09)
            case "\\": bytes.append(0x5C)
            case "x":
                guard let value = UInt8(String(rest.dropFirst(2).prefix(2)), radix: 16) else {
                    return nil
                }
                bytes.append(value)
                rest = rest.dropFirst(2)
            default:
                // A lone backslash (`<a\b@x.example>`) is itself.
                bytes.append(0x5C)
                rest = rest.dropFirst()
                continue
            }
            rest = rest.dropFirst(2)
        } else {
            bytes += Array(String(first).utf8)
            rest = rest.dropFirst()
        }
    }
    return bytes
}

/// MailLab's reply where it differs from OpenSMTPD on purpose; nil: keep OpenSMTPD's.
func mailLabReplies(to command: [UInt8], openSMTPD replies: [Transcript.Expect]) -> [Transcript
    .Expect]
{
    let text = String(decoding: command, as: UTF8.self)
    if text.hasSuffix(" SIZE=999999999999\r\n") {
        // Departure: SIZE= above the limit is refused at MAIL.
        return [
            .line(
                "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
            )
        ]
    }
    var result: [Transcript.Expect] = []
    for reply in replies {
        switch reply {
        case .line("220 vm ESMTP OpenSMTPD"):
            result.append(.line("220 vm ESMTP MailLab"))
        case .line("250 HELP") where result.last == .line("250-DSN"):
            // Departure: PIPELINING is advertised.
            result += [.line("250-PIPELINING"), .line("250 HELP")]
        case .line("214-2.0.0 This is OpenSMTPD"):
            result += [
                .line("214-2.0.0 This is MailLab"),
                .line("214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP HELP QUIT"),
                .line("214-2.0.0 To report problems, contact the postmaster of this server"),
            ]
        case .line(let line) where line.hasPrefix("214-2.0.0 "):
            continue  // the rest of OpenSMTPD's help text
        case .line(let line):
            // Message ids are random.
            result.append(
                .line(line.replacing(#/^250 2\.0\.0 [0-9a-f]{8} /#, with: "250 2.0.0 <id> ")))
        default:
            result.append(reply)
        }
    }
    return result
}

/// Every transcript of Appendix A.1–A.3 that MailLab should reproduce.
let openSMTPDTranscriptCases: [Transcript] = {
    var transcripts: [Transcript] = []
    var limits = false
    var current: Transcript?
    // An abbreviated exchange (`aaaa...(277 chars total)`) cannot be replayed: it and its
    // replies are left out.
    var skipping = false
    func flush() {
        if let done = current, !departingTranscripts.contains(done.name) {
            transcripts.append(done)
        }
        current = nil
    }
    for line in openSMTPDTranscripts.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("### A.3") { limits = true }
        if line.hasPrefix("#### ") {
            flush()
            current = Transcript(
                name: String(line.dropFirst(5)), limitsInstance: limits,
                steps: [.init(send: [], expect: [])])
            skipping = false
            continue
        }
        guard current != nil else { continue }
        let trimmed = line.drop { $0 == " " }
        if trimmed.hasPrefix("C: ") {
            let payload = trimmed.dropFirst(3)
            skipping = payload.contains("...(")
            if skipping { continue }
            if payload == "<client closes connection>" {
                current!.steps.append(.init(send: nil, expect: []))
            } else if payload.hasPrefix("<nothing") {
                current!.steps.append(.init(send: [], expect: []))
            } else if let bytes = transcriptBytes(payload) {
                current!.steps.append(.init(send: bytes, expect: []))
            }
        } else if trimmed.hasPrefix("S: "), !skipping {
            let payload = trimmed.dropFirst(3)
            let expect: Transcript.Expect
            if payload.hasPrefix("<connection closed") || payload.hasPrefix("<connection reset") {
                // After a reset the closed check is all there is to see.
                if current!.steps[current!.steps.count - 1].expect.last == .closed { continue }
                expect = .closed
            } else if payload.hasPrefix("<no reply") || payload.hasPrefix("<connection still open")
            {
                expect = .silent
            } else {
                guard payload.hasSuffix("\\r\\n") else { continue }
                expect = .line(String(payload.dropLast(4)))
            }
            current!.steps[current!.steps.count - 1].expect.append(expect)
        }
    }
    flush()
    return transcripts.map { transcript in
        var transcript = transcript
        for index in transcript.steps.indices {
            if let bytes = transcript.steps[index].send {
                transcript.steps[index].expect = mailLabReplies(
                    to: bytes, openSMTPD: transcript.steps[index].expect)
            }
        }
        return transcript
    }
}()

@Suite struct OpenSMTPDTranscriptTests {
    @Test func everyTranscriptIsParsed() {
        let names = Set(openSMTPDTranscriptCases.map(\.name))
        #expect(names.count + departingTranscripts.count == 35)
        #expect(names.contains("mail-from-syntax") && names.contains("too-many-mails"))
        #expect(openSMTPDTranscriptCases.allSatisfy { $0.steps.count >= 2 })
        #expect(transcriptBytes("a\\r\\n<'X' * 3>\\x41") == Array("a\r\nXXXA".utf8))
    }

    @Test(arguments: openSMTPDTranscriptCases)
    func replay(_ transcript: Transcript) async throws {
        // OpenSMTPD 6.8 has no SMTPUTF8 and no CHUNKING: the listener says so (MailLab
        // `no-smtputf8 no-chunking`), and the corpus is replayed unchanged. MailLab's own are
        // tested in SMTPUTF8*Tests and Chunking*Tests.
        let listener = localDeliveryConfig.replacingOccurrences(
            of: "port 2525\n", with: "port 2525 no-smtputf8 no-chunking\n")
        let config =
            transcript.limitsInstance
            ? listener + "\nsmtp max-message-size 1000\nsmtp limit max-rcpt 2 max-mails 2\n"
            : listener
        try await withServer(config: config) { server in
            let problems = try await blocking { [port = server.port] in
                try Self.replay(transcript, port: port)
            }
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    static func replay(_ transcript: Transcript, port: UInt16) throws -> [String] {
        let client = try LineClient(port: port)
        var problems: [String] = []
        for step in transcript.steps {
            guard let bytes = step.send else { return problems }  // the client leaves
            if !bytes.isEmpty { try client.send(bytes: bytes) }
            let shown = String(decoding: bytes.prefix(60), as: UTF8.self).debugDescription
            for expect in step.expect {
                switch expect {
                case .line(let line):
                    let got = try client.readLine()
                    if got.map({ lineMatches($0, line) }) != true {
                        problems.append(
                            "after \(shown): got \(got?.debugDescription ?? "EOF"), expected \(line)"
                        )
                    }
                case .closed:
                    if !client.closesWithin(3) { problems.append("after \(shown): not closed") }
                case .silent:
                    if !client.staysSilent(0.5) { problems.append("after \(shown): not silent") }
                }
            }
        }
        return problems
    }
}
