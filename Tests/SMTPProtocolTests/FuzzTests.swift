import MailLabTestSupport
import SMTPProtocol
import Testing

/// Random and mutated hostile input; checks invariants rather than exact replies.
@Suite("Fuzz: invariants under hostile input")
struct FuzzTests {
    static let fragments: [String] = [
        "HELO x\r\n", "EHLO defaultNS\r\n", "HELO\n", "MAIL FROM:<a@b>\r\n", "MAIL FROM:<>\r\n",
        "MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME\r\n", "MAIL FROM:<;sleep 1;>\r\n",
        "RCPT TO:<root@vm>\r\n", "RCPT TO:<osdrefuser@localhost> NOTIFY=NEVER,SUCCESS\r\n",
        "RCPT TO:<x@example.com>\r\n", "RCPT TO:<>\r\n", "DATA\r\n", "DATA\n", "RSET\r\n",
        "NOOP\r\n", "HELP\r\n", "QUIT\r\n", "VRFY root\r\n", "STARTTLS\r\n", "WIZ\r\n",
        "Subject: s\r\n", "Received: from a by b\r\n", "Bcc: x\r\n", "From: a, <b>\r\n",
        " folded\r\n", "\r\n", "\n", "\r", ".", ".\r\n", ".\n", "\r\n.\r\n", "\n.\n", "\r.\r",
        "..x\r\n", "\0", "\u{FF}\u{FE}", "ü", ":", "<", ">", "@", " ", "\t", "X", "\\",
        String(repeating: "A", count: 150), String(repeating: "B\r", count: 40),
    ]

    static func limits(_ small: Bool) -> SessionConfiguration {
        var configuration = referenceConfiguration()
        configuration.advertisePipelining = true
        if small {
            configuration.limits.commandLineMax = 100
            configuration.limits.lineMax = 300
            configuration.limits.maxMessageSize = 200
            configuration.limits.maxErrors = 8
            configuration.limits.maxRecipients = 2
            configuration.limits.maxReceivedHeaders = 3
        }
        return configuration
    }

    /// Runs `bytes` in the given chunks; checks the per-event invariants; returns the events.
    static func run(_ bytes: [UInt8], chunks: [Int], small: Bool, seed: UInt64) -> [SessionEvent] {
        var driver = Driver(configuration: limits(small), environment: fixedEnvironment(seed: seed))
        driver.start()
        driver.send(bytes, inChunks: chunks)
        driver.disconnect()
        return driver.events
    }

    static func checkInvariants(_ events: [SessionEvent], input: [UInt8]) {
        for reply in events.rawReplies {
            #expect(reply.count <= 512)
            #expect(reply.suffix(2) == [13, 10])
            #expect(!reply.dropLast(2).contains(13) && !reply.dropLast(2).contains(10))
            #expect(reply.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 13 || $0 == 10 })
        }
        // At most one message per dot line in the input.
        let dotLines = input.split(separator: 10, omittingEmptySubsequences: false)
            .filter { $0 == [46] || $0 == [46, 13] }.count
        #expect(events.messages.count <= dotLines)
        for message in events.messages {
            #expect(message.content.last == 10)
            #expect(message.id.count == 8)
            #expect(!message.recipients.isEmpty)
        }
        // The session ends exactly once (the driver disconnects at the end) and says nothing
        // after its close.
        #expect(events.closes == 1)
        #expect(events.last == .close)
    }

    @Test("random fragment soup", arguments: 0..<6)
    func soup(_ batch: Int) {
        let random = SplitMix(seed: UInt64(1000 + batch))
        var delivered = 0
        for round in 0..<40 {
            // Half the rounds open a transaction first, so DATA and its end are reached.
            var input: [UInt8] = Array(
                (round % 2 == 0
                    ? "EHLO fuzz\r\n"
                    : "EHLO fuzz\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\n").utf8)
            for index in 0..<(5 + Int(random.next() % 60)) {
                if index % 16 == 15 { input += Array("\r\n.\r\n".utf8) }
                input += Array(
                    Self.fragments[Int(random.next() % UInt64(Self.fragments.count))].utf8)
            }
            let small = round % 4 == 1
            let whole = Self.run(input, chunks: [Int.max], small: small, seed: 1)
            Self.checkInvariants(whole, input: input)
            delivered += whole.messages.count
            let sizes = (0..<8).map { _ in Int(random.next() % 13) + 1 }
            #expect(Self.run(input, chunks: sizes, small: small, seed: 1) == whole)
        }
        // The soup must reach DATA and its end now and then, or it tests too little.
        #expect(delivered > 0)
    }

    @Test(
        "mutated golden transcripts",
        arguments: try OpenSMTPDTranscripts.all(advertisingPipelining: false).filter {
            $0.clientBytes.count < 20_000
        })
    func mutated(_ transcript: Transcript) {
        let random = SplitMix(seed: transcript.name.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) })
        for round in 0..<6 {
            var input = transcript.clientBytes
            for _ in 0..<(1 + Int(random.next() % 6)) where !input.isEmpty {
                let at = Int(random.next() % UInt64(input.count))
                switch random.next() % 5 {
                case 0: input.remove(at: at)
                case 1: input.insert([0, 13, 10, 46, 0xFF][Int(random.next() % 5)], at: at)
                case 2: input[at] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                case 3: input.insert(contentsOf: input[at..<min(input.count, at + 40)], at: at)
                default:
                    input.insert(contentsOf: Array("\r\n.\r\nMAIL FROM:<s@x>\r\n".utf8), at: at)
                }
            }
            let small = round % 3 == 0
            let whole = Self.run(input, chunks: [Int.max], small: small, seed: 3)
            Self.checkInvariants(whole, input: input)
            let sizes = (0..<8).map { _ in Int(random.next() % 31) + 1 }
            #expect(Self.run(input, chunks: sizes, small: small, seed: 3) == whole)
        }
    }
}
