import MailLabTestSupport
import SMTPProtocol
import Testing

/// OpenSMTPD's recorded transcripts (Tests/Fixtures/opensmtpd-transcripts, the same files the
/// socket tests replay) and the §7.4 rows, through the session alone: bytes in, replies out.
@Suite("Golden transcripts (OpenSMTPD 6.8 §7.2, §7.4, Appendix A)")
struct TranscriptTests {
    /// What the session is expected to say: as OpenSMTPD, without PIPELINING in EHLO.
    static func transcripts() throws -> [Transcript] {
        try OpenSMTPDTranscripts.all(advertisingPipelining: false) + Section74.rows
    }

    @Test func everyRecordedTranscriptIsLoaded() throws {
        let recorded = try OpenSMTPDTranscripts.all(advertisingPipelining: false)
        // §7.2 and the 35 of Appendix A.1-A.3.
        #expect(recorded.count == 36)
        #expect(Set(recorded.map(\.name)).count == recorded.count)
        #expect(recorded.allSatisfy { $0.greeting == ["220 vm ESMTP MailLab"] })
        #expect(recorded.filter { $0.instance == .limits }.count == 4)
    }

    @Test func theReferenceNotationIsReadStrictly() throws {
        #expect(try transcriptBytes("a\\r\\n<'X' * 3>\\x41") == Array("a\r\nXXXA".utf8))
        #expect(try transcriptBytes("<2 lines of 'x'*3>\\r\\n") == Array("xxx\r\nxxx\r\n".utf8))
        #expect(
            try transcriptBytes("<2 'Received: from hopN by x' header lines>")
                == Array("Received: from hop0 by x\r\nReceived: from hop1 by x".utf8))
        #expect(try transcriptBytes("MAIL FROM:<a\\b@x>") == Array("MAIL FROM:<a\\b@x>".utf8))
        #expect(throws: TranscriptError.self) {
            try transcriptBytes("MAIL FROM:<aaa...(277 chars total)")
        }
        let text = """
            S: 220 vm ESMTP OpenSMTPD\\r\\n
            # a comment
            C: DATA\\r\\n
            C: <nothing: no write>
            S: 500 5.0.0 Line too long\\r\\n
            S: <connection reset>
            S: <connection closed by server>
            """
        let parsed = try OpenSMTPDTranscripts.parse(
            text, name: "t", instance: .reference, file: "t.txt")
        #expect(parsed.greeting == ["220 vm ESMTP OpenSMTPD"])
        #expect(parsed.steps == [.send("DATA\r\n", ["500 5.0.0 Line too long"], closes: true)])
        for bad in ["X: what", "C: <an unknown annotation>", "S: 250 no line end"] {
            #expect(throws: TranscriptError.self, "\(bad)") {
                try OpenSMTPDTranscripts.parse(
                    "S: 220 x\\r\\n\n" + bad, name: "t", instance: .reference, file: "t.txt")
            }
        }
    }

    @Test("step by step: exact replies after each client write", arguments: try transcripts())
    func stepByStep(_ transcript: Transcript) {
        var driver = Driver(configuration: referenceConfiguration(transcript.instance))
        #expect(driver.start().replies == transcript.greeting)
        for (index, step) in transcript.steps.enumerated() {
            guard let bytes = step.send else {
                let events = driver.disconnect()
                #expect(events.closes == 1)
                #expect(events.messages.isEmpty)
                #expect(events.logs.last?.hasSuffix("smtp disconnected reason=disconnect") == true)
                continue
            }
            let events = driver.send(bytes)
            let shown = String(decoding: bytes.prefix(60), as: UTF8.self).debugDescription
            #expect(
                events.replies.map(normalized) == step.replies.map(normalized),
                "step \(index): \(shown)")
            #expect(events.closes == (step.closes ? 1 : 0), "step \(index) close: \(shown)")
        }
    }

    @Test(
        "whole input in one write, one byte at a time and random splits agree",
        arguments: try transcripts())
    func anySplit(_ transcript: Transcript) {
        let whole = runChunked(transcript, chunkSizes: [Int.max])
        let bytewise = runChunked(transcript, chunkSizes: [1])
        #expect(whole == bytewise)
        let generator = SplitMix(seed: 7)
        for _ in 0..<3 {
            let sizes = (0..<16).map { _ in Int(generator.next() % 97) + 1 }
            #expect(runChunked(transcript, chunkSizes: sizes) == whole, "chunks \(sizes)")
        }
        let expected = transcript.steps.flatMap(\.replies)
        #expect(whole.replies.map(normalized) == (transcript.greeting + expected).map(normalized))
    }
}
