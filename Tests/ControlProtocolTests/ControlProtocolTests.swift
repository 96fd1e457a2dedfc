import ControlProtocol
import Testing

/// The control socket's codec, bytes in and bytes out: frames whatever the splits, every
/// request and response through the wire and back, and OpenSMTPD's listing texts.
@Suite struct ControlFrameTests {
    static let requests: [ControlRequest] = [
        .showQueue, .showStats, .schedule(.all), .schedule(.message(0x1a2b_3c4d)),
        .schedule(.envelope(0x1a2b_3c4d_0000_0001)), .remove(.all), .remove(.message(7)),
        .pauseMTA, .resumeMTA, .log(verbose: true), .log(verbose: false), .traceSMTP(true),
        .traceSMTP(false), .showFaults,
        .clearFaults,
        .loadFaults(
            name: "/tmp/f aults.conf",
            text: "fault seed 3\nfault at rcpt reply \"451 4.7.1 Later\"\n"),
    ]

    static let responses: [ControlResponse] = [
        .succeeded, .failed("mta is already paused"), .count(0), .count(12), .lines([]),
        .lines(["a=1", "", "b=2"]),
    ]

    private func stream() -> ([UInt8], [[UInt8]]) {
        let payloads = Self.requests.map { $0.encoded() } + Self.responses.map { $0.encoded() }
        return (payloads.flatMap(ControlFrame.encode), payloads)
    }

    @Test("frames come out whole whether fed at once, byte by byte or in random splits")
    func framesSurviveEverySplit() throws {
        let (bytes, payloads) = stream()
        var whole = ControlFrameDecoder()
        #expect(try whole.feed(bytes) == payloads)
        var single = ControlFrameDecoder()
        var frames: [[UInt8]] = []
        for byte in bytes { frames += try single.feed([byte]) }
        #expect(frames == payloads)
        #expect(single.pendingBytes == 0)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var decoder = ControlFrameDecoder()
            var out: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let end = min(bytes.count, index + Int.random(in: 1...40, using: &generator))
                out += try decoder.feed(bytes[index..<end])
                index = end
            }
            #expect(out == payloads)
        }
        // Every two-piece split too.
        for cut in 0...bytes.count {
            var decoder = ControlFrameDecoder()
            let out = try decoder.feed(bytes[..<cut]) + decoder.feed(bytes[cut...])
            #expect(out == payloads)
        }
    }

    @Test("a frame longer than the limit is refused as soon as its length is read")
    func oversizedFrameIsRefused() {
        var decoder = ControlFrameDecoder(limit: 10)
        #expect(throws: ControlProtocolError.self) {
            _ = try decoder.feed([0, 0, 0, 11])
        }
        var exact = ControlFrameDecoder(limit: 10)
        #expect((try? exact.feed(ControlFrame.encode(Array(repeating: 65, count: 10))))?.count == 1)
    }

    @Test("every request and response decodes to itself")
    func requestsAndResponsesRoundTrip() throws {
        for request in Self.requests {
            #expect(try ControlRequest(decoding: request.encoded()) == request)
        }
        for response in Self.responses {
            #expect(try ControlResponse(decoding: response.encoded()) == response)
        }
        // A reason with a newline cannot break the status line.
        #expect(
            try ControlResponse(decoding: ControlResponse.failed("a\nb").encoded())
                == .failed("a b"))
    }

    @Test(
        "random bytes never crash the decoders: each payload is a request, a response or an error")
    func hostileBytesAreErrorsNotCrashes() throws {
        var generator = SplitMix(seed: 0x5eed)
        let alphabet = Array(
            "show queue stats schedule remove all load faults log 0123456789abcdef\n ".utf8)
        for round in 0..<5_000 {
            let count = Int(generator.next() % 64)
            let bytes = (0..<count).map { _ -> UInt8 in
                let value = generator.next()
                return round % 2 == 0
                    ? UInt8(truncatingIfNeeded: value)
                    : alphabet[Int(value % UInt64(alphabet.count))]
            }
            _ = try? ControlRequest(decoding: bytes)
            _ = try? ControlResponse(decoding: bytes)
            var decoder = ControlFrameDecoder(limit: 1_024)
            _ = try? decoder.feed(bytes)
        }
        // A file name with a newline cannot smuggle a body line in.
        let request = ControlRequest.loadFaults(name: "a\nb", text: "fault seed 1\n")
        #expect(
            try ControlRequest(decoding: request.encoded())
                == .loadFaults(name: "a?b", text: "fault seed 1\n"))
    }

    @Test("bad requests are refused with what was wrong")
    func badRequestsSayWhy() {
        func reason(_ text: String) -> String? {
            do {
                _ = try ControlRequest(decoding: Array(text.utf8))
                return nil
            } catch {
                return error.description
            }
        }
        #expect(reason("show queue") == "request without a command line")
        #expect(reason("stop\n") == "unknown command: stop")
        #expect(
            reason("schedule 1234\n")?.hasPrefix("schedule: expected all, a message id") == true)
        #expect(reason("remove\n")?.hasPrefix("remove: expected all") == true)
        #expect(reason("schedule 1a2b3c4dx\n") != nil)
        #expect(ControlSelector("1A2B3C4D") == .message(0x1a2b_3c4d))
        #expect(ControlSelector("00000000000000ff") == .envelope(255))
        #expect(ControlSelector("1a2b3c4d5") == nil)
        #expect(ControlSelector("ALL") == nil)
        #expect(ControlSelector("ghijklmn") == nil)
    }

    @Test("smtpctl prints OpenSMTPD's texts, singular for 0 and 1 as 6.8 does")
    func outputTexts() {
        #expect(ControlResponse.succeeded.output(for: .pauseMTA) == ("command succeeded\n", 0))
        #expect(
            ControlResponse.failed("mta is already paused").output(for: .pauseMTA)
                == ("command failed: mta is already paused\n", 1))
        #expect(
            ControlResponse.count(0).output(for: .schedule(.all)).text == "0 envelope scheduled\n")
        #expect(ControlResponse.count(1).output(for: .remove(.all)).text == "1 envelope removed\n")
        #expect(
            ControlResponse.count(3).output(for: .schedule(.all)).text == "3 envelopes scheduled\n")
        #expect(ControlResponse.lines(["x", "y"]).output(for: .showQueue).text == "x\ny\n")
    }
}

@Suite struct ControlListingTests {
    @Test("show queue lines have OpenSMTPD 6.8's thirteen fields")
    func queueLineFields() {
        let pending = ListedEnvelope(
            id: 0x1a2b_3c4d_0000_0002, sender: "", recipient: "bob@rot.lab", state: .pending,
            created: 1_000, expires: 1_000 + 4 * 86_400, lastTry: 1_100, nextTry: 1_400,
            retries: 2, lastError: "421 4.3.0 Try later\r\nbye\\")
        #expect(
            ControlListing.queueLine(pending, now: 1_300)
                == "1a2b3c4d00000002|?|mta||@|bob@rot.lab|bob@rot.lab|1000|346600|1100|2|pending|100|421 4.3.0 Try later\\r\\nbye\\\\"
        )
        var inflight = pending
        inflight.state = .inflight
        inflight.sender = "alice@gruen.lab"
        inflight.lastError = "caf\u{e9}\u{1}"
        #expect(
            ControlListing.queueLine(inflight, now: 1_130)
                == "1a2b3c4d00000002|?|mta||alice@gruen.lab|bob@rot.lab|bob@rot.lab|1000|346600|1100|2|inflight|30|caf\\303\\251\\^A"
        )
    }

    @Test("show stats: sorted name=value lines with uptime and duration_to_text")
    func statsLines() {
        let lines = ControlListing.statsLines(
            [("smtp.session", 2), ("control.session", 1)], startedAt: 100,
            now: 100 + 86_400 + 3_600 * 2 + 5)
        #expect(
            lines == [
                "control.session=1", "smtp.session=2", "uptime=93605", "uptime.human=1d2h5s",
            ])
        #expect(ControlListing.durationText(0) == "0s")
        #expect(ControlListing.durationText(60) == "1m")
        #expect(ControlListing.durationText(3_661) == "1h1m1s")
    }
}

/// A small seeded generator, so that a failing round can be repeated.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
