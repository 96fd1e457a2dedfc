import Foundation
import MailLabTestSupport
import Testing

/// OpenSMTPD's recorded transcripts (Tests/Fixtures/opensmtpd-transcripts, the same files the
/// session tests replay) against a real server on 127.0.0.1, one connection each.
@Suite struct OpenSMTPDTranscriptTests {
    /// What the server is expected to say: PIPELINING is advertised.
    static func transcripts() throws -> [Transcript] {
        try OpenSMTPDTranscripts.all(advertisingPipelining: true)
    }

    @Test func everyRecordedTranscriptIsReplayed() throws {
        let names = Set(try Self.transcripts().map(\.name))
        // §7.2 and the 35 of Appendix A.1-A.3, departures included.
        #expect(names.count == 36)
        #expect(names.isSuperset(of: ["required-dialogue", "mail-from-syntax", "too-many-mails"]))
        #expect(names.isSuperset(of: ["pipelining", "smuggle-lf-dot-lf", "loop-detect"]))
    }

    @Test(arguments: try transcripts())
    func replay(_ transcript: Transcript) async throws {
        // OpenSMTPD 6.8 has no SMTPUTF8 and no CHUNKING: the listener says so (MailLab
        // `no-smtputf8 no-chunking`), and the corpus is replayed unchanged. MailLab's own are
        // tested in SMTPUTF8*Tests and Chunking*Tests.
        let base = transcript.instance == .limits ? limitsInstanceConfig : localDeliveryConfig
        let config = base.replacingOccurrences(
            of: "port 2525\n", with: "port 2525 no-smtputf8 no-chunking\n")
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
        func expect(_ expected: [Transcript.Expect], after shown: String) throws {
            for item in expected {
                switch item {
                case .line(let line):
                    // Message ids are random: `lineMatches` takes any 8 hex digits for <id>.
                    let pattern = line.replacing(
                        #/^250 2\.0\.0 [0-9a-f]{8} /#, with: "250 2.0.0 <id> ")
                    let got = try client.readLine()
                    if got.map({ lineMatches($0, pattern) }) != true {
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
        try expect(transcript.greeting.map { .line($0) }, after: "connect")
        for step in transcript.steps {
            guard let bytes = step.send else { return problems }  // the client leaves
            try client.send(bytes: bytes)
            try expect(
                step.expect,
                after: String(decoding: bytes.prefix(60), as: UTF8.self).debugDescription)
        }
        return problems
    }
}
