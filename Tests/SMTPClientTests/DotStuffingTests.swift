import Foundation
import SMTPClient
import Testing

@Suite struct DotStuffingTests {
    func wire(_ text: String) -> String {
        String(decoding: DotStuffing.encode(Array(text.utf8)), as: UTF8.self)
    }

    @Test func linesGetCRLFAndTheTerminator() {
        #expect(wire("Subject: x\n\nbody\n") == "Subject: x\r\n\r\nbody\r\n.\r\n")
        #expect(wire("no final newline") == "no final newline\r\n.\r\n")
        #expect(wire("crlf already\r\n") == "crlf already\r\n.\r\n")
        #expect(wire("") == ".\r\n")
    }

    @Test func leadingDotsAreDoubled() {
        #expect(wire(".\n..x\nmid.dle\n.") == "..\r\n...x\r\nmid.dle\r\n..\r\n.\r\n")
        #expect(DotStuffing.encode(lines: [".", "a"]) == Array("..\r\na\r\n.\r\n".utf8))
    }

    @Test func bareCRStaysData() {
        // A bare CR must not become a line end (no "\r.\r" smuggling help from the client).
        #expect(wire("a\r.\rb\n") == "a\r.\rb\r\n.\r\n")
    }

    @Test func decodeRefusesUnterminatedOrBareLF() {
        #expect(DotStuffing.decode(Array("a\r\n".utf8)) == nil)
        #expect(DotStuffing.decode(Array("a\n.\r\n".utf8)) == nil)
        #expect(DotStuffing.decode(Array(".\r\nextra".utf8)) == nil)
    }

    /// Any content round-trips, and the only `.` line on the wire is the last one.
    @Test func fuzzRoundTrip() throws {
        var generator = SeededGenerator(seed: 5321)
        let alphabet: [UInt8] = Array(".\r\nx ".utf8)
        for _ in 0..<3000 {
            let lines: [[UInt8]] = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                (0..<Int.random(in: 0...5, using: &generator)).map { _ -> UInt8 in
                    alphabet.randomElement(using: &generator)!
                }.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
            }
            let content: [UInt8] = lines.flatMap { $0 + [10] }
            let encoded = DotStuffing.encode(content)
            #expect(try #require(DotStuffing.decode(encoded)) == lines)
            let wireLines = String(decoding: encoded, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(wireLines.filter { $0 == "." }.count == 1)
        }
    }

    /// The encoder fed a piece at a time gives what the whole-message algorithm gives (a CR
    /// at the end of one piece and an LF at the start of the next are one line end).
    @Test func anySplitOfTheContentEncodesAsTheWhole() {
        var generator = SeededGenerator(seed: 3030)
        let alphabet: [UInt8] = Array(".\r\nx".utf8)
        for _ in 0..<4000 {
            let content = (0..<Int.random(in: 0...14, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            }
            for loneCR in [false, true] {
                var encoder = DotStuffing.Encoder(loneCRAsLineEnd: loneCR)
                var out: [UInt8] = []
                var rest = content[...]
                while !rest.isEmpty {
                    let n = Int.random(in: 0...rest.count, using: &generator)
                    encoder.encode(rest.prefix(n), into: &out)
                    rest = rest.dropFirst(n)
                }
                encoder.finish(into: &out)
                #expect(out == Self.reference(content, loneCRAsLineEnd: loneCR), "\(content)")
            }
        }
    }

    /// The whole-message algorithm the encoder replaced, kept as the specification.
    static func reference(_ content: [UInt8], loneCRAsLineEnd: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var atLineStart = true
        var index = 0
        while index < content.count {
            let byte = content[index]
            if atLineStart && byte == 46 { out.append(byte) }
            if byte == 13, index + 1 < content.count, content[index + 1] == 10 {
                index += 1
                continue
            }
            if byte == 10 || (byte == 13 && loneCRAsLineEnd) {
                out += [13, 10]
                atLineStart = true
            } else {
                out.append(byte)
                atLineStart = false
            }
            index += 1
        }
        if !atLineStart { out += [13, 10] }
        return out + Array(".\r\n".utf8)
    }
}
