import SMTPClient
import Testing

@Suite struct ReplyParserTests {
    func parse(_ lines: [String]) throws -> [SMTPReply] {
        var parser = ReplyParser()
        return try lines.compactMap { line throws(ReplyError) in try parser.feed(line) }
    }

    @Test func singleLineWithEnhancedCode() throws {
        let replies = try parse(["553 5.1.0 Sender address syntax error"])
        #expect(replies.count == 1)
        #expect(replies[0].code == 553)
        #expect(replies[0].enhancedCode == "5.1.0")
        #expect(replies[0].text == "Sender address syntax error")
        #expect(replies[0].isPermanentFailure)
    }

    @Test func multiLineReplyIsOneReply() throws {
        let replies = try parse([
            "250-vm Hello defaultNS [127.0.0.1], pleased to meet you", "250-8BITMIME",
            "250-PIPELINING", "250 HELP",
        ])
        #expect(replies.count == 1)
        #expect(
            replies[0].lines == [
                "vm Hello defaultNS [127.0.0.1], pleased to meet you", "8BITMIME", "PIPELINING",
                "HELP",
            ])
        #expect(replies[0].wireLines.last == "250 HELP")
        #expect(replies[0].enhancedCode == nil)
    }

    @Test func oldOpenSMTPDColonAfterEnhancedCode() throws {
        let reply = try #require(try parse(["250 2.0.0: Ok"]).first)
        #expect(reply.enhancedCode == "2.0.0")
        #expect(reply.text == "Ok")
    }

    @Test func bareCodeIsAValidLastLine() throws {
        // RFC 5321 §4.2: the text is optional. CVE-2020-8794: `250-x` then `250` must not
        // read past the short line.
        let replies = try parse(["250-x", "250"])
        #expect(replies == [SMTPReply(code: 250, lines: ["x", ""])])
    }

    @Test(arguments: ["", "2", "25", "25a", "abc", "650 no", "150 x", " 250 x", "2 50"])
    func shortOrBadLinesAreRefused(_ line: String) {
        var parser = ReplyParser()
        #expect(throws: ReplyError.malformedLine(line)) { try parser.feed(line) }
    }

    @Test func separatorMustBeSpaceOrDash() {
        var parser = ReplyParser()
        #expect(throws: ReplyError.badSeparator("250x")) { try parser.feed("250x") }
        #expect(throws: ReplyError.badSeparator("250\tOk")) { try parser.feed("250\tOk") }
    }

    @Test func codeMayNotChangeInsideAReply() throws {
        var parser = ReplyParser()
        #expect(try parser.feed("250-first") == nil)
        #expect(parser.isPending)
        #expect(throws: ReplyError.codeChanged(expected: 250, line: "550 second")) {
            try parser.feed("550 second")
        }
        // The parser starts afresh after an error.
        #expect(!parser.isPending)
        #expect(try parser.feed("221 Bye")?.code == 221)
    }

    @Test func endlessContinuationIsCut() throws {
        var parser = ReplyParser()
        var thrown: ReplyError?
        for _ in 0...ReplyParser.maximumLines {
            do { _ = try parser.feed("250-more") } catch {
                thrown = error
                break
            }
        }
        #expect(thrown == .tooManyLines(ReplyParser.maximumLines))
    }

    /// Hostile input: random bytes and truncations of good lines never crash; anything
    /// accepted is a well-formed reply that prints back to what was received.
    @Test func fuzzHostileLines() {
        var generator = SeededGenerator(seed: 8794)
        let alphabet: [UInt8] = Array("0123456789 -.:\r\n\t\0ab".utf8) + [0xff, 0xc3, 0x7f]
        var accepted = 0
        for _ in 0..<5000 {
            let length = Int.random(in: 0...8, using: &generator)
            var bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            if Bool.random(using: &generator) {
                bytes = Array("25\(Int.random(in: 0...9, using: &generator))".utf8) + bytes
            }
            let line = String(decoding: bytes, as: UTF8.self)
            var parser = ReplyParser()
            if let reply = try? parser.feed(line) {
                accepted += 1
                #expect((200...599).contains(reply.code))
                #expect(reply.wireLines.count == 1)
                #expect(line.hasPrefix(String(reply.code)))
            }
        }
        // Some lines must parse, or the checks above never ran.
        #expect(accepted > 0)
    }

    @Test func displayEscapesControlBytes() {
        #expect(escapedForDisplay(Array("a\rb\n\t\\\u{0}".utf8)) == "a\\rb\\n\\t\\\\\\x00")
        #expect(escapedForDisplay(Array("grüße".utf8)) == "grüße")
    }
}

/// A small deterministic generator (SplitMix64) so fuzz failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
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
