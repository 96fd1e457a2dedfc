import SMTPProtocol
import Testing

@Suite("Golden transcripts (OpenSMTPD 6.8 Appendix A)")
struct TranscriptTests {
    @Test(
        "step by step: exact replies after each client write",
        arguments: Transcripts.all + Section74.rows)
    func stepByStep(_ transcript: Transcript) {
        var driver = Driver(configuration: referenceConfiguration(transcript.limits))
        #expect(driver.start().replies == ["220 vm ESMTP MailLab"])
        for (index, step) in transcript.steps.enumerated() {
            switch step {
            case .send(let text, let expected, let closes):
                let events = driver.send(text)
                #expect(
                    events.replies.map(normalized) == expected.map(normalized),
                    "step \(index): \(text.prefix(60).debugDescription)")
                #expect(
                    events.closes == (closes ? 1 : 0),
                    "step \(index) close: \(text.prefix(60).debugDescription)")
            case .disconnect:
                let events = driver.disconnect()
                #expect(events.closes == 1)
                #expect(events.messages.isEmpty)
                #expect(events.logs.last?.hasSuffix("smtp disconnected reason=disconnect") == true)
            }
        }
    }

    @Test(
        "whole input in one write, one byte at a time and random splits agree",
        arguments: Transcripts.all + Section74.rows)
    func anySplit(_ transcript: Transcript) {
        let whole = runChunked(transcript, chunkSizes: [Int.max])
        let bytewise = runChunked(transcript, chunkSizes: [1])
        #expect(whole == bytewise)
        let generator = SplitMix(seed: 7)
        for _ in 0..<3 {
            let sizes = (0..<16).map { _ in Int(generator.next() % 97) + 1 }
            #expect(runChunked(transcript, chunkSizes: sizes) == whole, "chunks \(sizes)")
        }
        let expected = transcript.steps.flatMap { step -> [String] in
            if case .send(_, let replies, _) = step { return replies }
            return []
        }
        #expect(
            whole.replies.map(normalized) == (["220 vm ESMTP MailLab"] + expected).map(normalized))
    }
}
