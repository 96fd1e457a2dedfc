import Testing

@testable import SMTPProtocol

/// Streaming delivery takes the stored form from the session while the message arrives
/// (`takeStoredBytes`): what is taken plus the `.deliver`'s rest must be exactly the bytes
/// a session that nobody takes from delivers, however the input is split and whenever the
/// owner takes.
@Suite("Streamed content: taken in pieces, stored the same")
struct StreamedContentTests {
    /// A random message: header lines (address headers, Bcc, continuations, Received), the
    /// empty line, body lines with dots, CRs, long lines; sometimes no empty line at all.
    static func randomMessage(_ random: SplitMix) -> [UInt8] {
        var text: [UInt8] = []
        let headers = [
            "Subject: s", "From: alice", "To: bob, carol@x", "Cc: dave", "Bcc: hidden",
            "Received: from a", "Date: now", "Message-ID: <m@x>",
            "X-Long: "
                + String(
                    repeating: "v", count: 300),
        ]
        for _ in 0..<Int(random.next() % 6) {
            text += Array(headers[Int(random.next() % UInt64(headers.count))].utf8)
            text += [13, 10]
            if random.next() % 4 == 0 { text += Array("\tcontinued\r\n".utf8) }
        }
        if random.next() % 8 != 0 { text += [13, 10] }
        let lines = Int(random.next() % 400)
        for _ in 0..<lines {
            switch random.next() % 6 {
            case 0: text += Array("..stuffed".utf8)
            case 1: text += [UInt8](repeating: UInt8(ascii: "x"), count: Int(random.next() % 900))
            case 2: text += Array("bare\rcr".utf8)
            case 3: text += Array(".".utf8) + [UInt8](repeating: 0x2E, count: 2)
            default: text += Array("line \(random.next() % 1000)".utf8)
            }
            text += random.next() % 10 == 0 ? [10] : [13, 10]
        }
        return text
    }

    /// Runs `input` through a fresh session in pieces of `chunks`; with `take`, the stored
    /// bytes are taken after every piece (when more than `threshold` are waiting). The
    /// message's stored form: taken + the deliver's content, and its size.
    static func run(
        _ input: [UInt8], chunks: [Int], take: Bool, threshold: Int, chunking: Bool
    ) -> (stored: [UInt8], size: Int)? {
        var configuration = referenceConfiguration()
        configuration.chunking = chunking
        configuration.limits.maxMessageSize = 10 << 20
        var driver = Driver(configuration: configuration)
        driver.start()
        var taken: [UInt8] = []
        var offset = 0
        var turn = 0
        while offset < input.count {
            let end = min(input.count, offset + max(1, chunks[turn % chunks.count]))
            driver.send(Array(input[offset..<end]))
            if take && driver.session.storedBytesPending > threshold {
                taken += driver.session.takeStoredBytes()
            }
            offset = end
            turn += 1
        }
        guard let message = driver.events.messages.first else { return nil }
        return (taken + message.content, message.size)
    }

    static let envelope = Array(
        "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nRCPT TO:<osdrefuser@vm>\r\n".utf8)

    /// Runs `input` once untaken in one piece and once taken in random pieces with a random
    /// threshold, and expects the same stored form and size (a refused message, without an
    /// empty line after the header, is refused both ways). Returns the untaken run.
    @discardableResult
    static func expectStreamedEqualsWhole(
        _ input: [UInt8], random: SplitMix, chunking: Bool
    ) -> (stored: [UInt8], size: Int)? {
        let chunks = (0..<5).map { _ in 1 + Int(random.next() % 3000) }
        let threshold = Int(random.next() % 2000)
        let whole = run(
            input, chunks: [input.count], take: false, threshold: 0, chunking: chunking)
        let streamed = run(
            input, chunks: chunks, take: true, threshold: threshold, chunking: chunking)
        let same = streamed?.stored == whole?.stored && streamed?.size == whole?.size
        #expect(
            same, "stored \(streamed?.stored.count ?? -1), whole \(whole?.stored.count ?? -1)")
        return whole
    }

    @Test("DATA: taken pieces + rest = the whole", arguments: 0..<6)
    func data(seed: UInt64) throws {
        let random = SplitMix(seed: seed)
        for _ in 0..<40 {
            let body = Self.randomMessage(random)
            let input = Self.envelope + Array("DATA\r\n".utf8) + body + Array("\r\n.\r\n".utf8)
            let whole = Self.expectStreamedEqualsWhole(input, random: random, chunking: false)
            #expect(whole.map { $0.size == $0.stored.count } ?? true)
        }
    }

    @Test("BDAT: taken pieces + rest = the whole, lines across chunks", arguments: 0..<6)
    func bdat(seed: UInt64) throws {
        let random = SplitMix(seed: seed)
        for _ in 0..<40 {
            let body = Self.randomMessage(random)
            // The content in 1 to 4 BDAT chunks, cut anywhere (a CR and its LF apart too).
            var input = Self.envelope
            var offset = 0
            let pieces = 1 + Int(random.next() % 4)
            for index in 0..<pieces {
                let end =
                    index == pieces - 1
                    ? body.count : min(body.count, offset + Int(random.next() % 9000))
                input += Array(
                    "BDAT \(end - offset)\(index == pieces - 1 ? " LAST" : "")\r\n".utf8)
                input += body[offset..<end]
                offset = end
            }
            Self.expectStreamedEqualsWhole(input, random: random, chunking: true)
        }
    }

    @Test("BDAT: a chunk without any LF is stored while it arrives, not held as one line")
    func bdatWithoutLineEnds() throws {
        var configuration = referenceConfiguration()
        configuration.chunking = true
        configuration.limits.maxMessageSize = 10 << 20
        var driver = Driver(configuration: configuration)
        driver.start()
        let piece = [UInt8](repeating: 0x7A, count: 16_384)
        let pieces = 64
        let header = Array("S: x\r\n\r\n".utf8)
        let tail = Array("zzzzzzzz".utf8)
        let size = header.count + pieces * piece.count + tail.count
        driver.send(Self.envelope + Array("BDAT \(size) LAST\r\n".utf8) + header)
        var taken = driver.session.takeStoredBytes()
        var most = 0
        for _ in 0..<pieces {
            driver.send(piece)
            most = max(most, driver.session.storedBytesPending)
            taken += driver.session.takeStoredBytes()
        }
        // What the session holds between two takes stays near one piece.
        #expect(most <= piece.count + 4096)
        #expect(taken.count >= pieces * piece.count - 4096)
        driver.send(tail)
        let message = try #require(driver.events.messages.first)
        let stored = taken + message.content
        #expect(stored.count == message.size)
        #expect(stored.suffix(3) == [0x7A, 0x7A, 10])
    }

    @Test("BDAT: a header line without its LF is not held beyond the header limit")
    func bdatEndlessHeaderLine() throws {
        var configuration = referenceConfiguration()
        configuration.chunking = true
        configuration.limits.maxMessageSize = 10 << 20
        var driver = Driver(configuration: configuration)
        driver.start()
        let piece = [UInt8](repeating: 0x7A, count: 16_384)
        let pieces = 64
        driver.send(Self.envelope + Array("BDAT \(4 + pieces * piece.count) LAST\r\nX: ".utf8))
        var most = 0
        for _ in 0..<pieces {
            driver.send(piece)
            most = max(most, driver.session.data?.partialLine.count ?? 0)
        }
        driver.send(Array("z".utf8))
        #expect(most < configuration.limits.maxAddressHeaderLength)
        #expect(driver.events.messages.isEmpty)
        #expect(driver.events.replies.last?.hasPrefix("550 5.7.1 ") == true)
    }
}
