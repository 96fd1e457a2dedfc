import SessionTranscript
import Testing

@Suite struct TranscriptCodecTests {
    static let sample = """
        # MailLab session transcript 1
        @ session 3f2a0c1d9e8b7a65
        @ peer 127.0.0.1:41000
        @ listener 127.0.0.1:2525
        0.000000 S "220 vm ESMTP MailLab\\r\\n"
        0.000812 C "EHLO client\\r\\n"
        0.000900 S "250-vm Hello client [127.0.0.1], pleased to meet you\\r\\n"
        0.000900 S "250 HELP\\r\\n"
        0.001500 C "bare\\n"
        0.001600 C "tab\\there \\"q\\" back\\\\slash \\x00\\xff"
        0.002133 * tls TLSv1.3 TLS_AES_256_GCM_SHA384 256
        0.104000 * close client
        0.104100 * reset
        0.104200 * close server
        12.000001 * truncated

        """

    @Test func aTranscriptReadsBackAsItsRecordsWithCRAndLFVisible() throws {
        let transcript = try TranscriptCodec.parse(Array(Self.sample.utf8))
        #expect(transcript.value(of: "session") == "3f2a0c1d9e8b7a65")
        #expect(transcript.value(of: "listener") == "127.0.0.1:2525")
        #expect(transcript.records.map(\.entry).count == 10)
        // The two lines of one chunk (same time, same side) are one record again.
        #expect(
            transcript.records[2].entry
                == .data(
                    .server,
                    Array(
                        "250-vm Hello client [127.0.0.1], pleased to meet you\r\n250 HELP\r\n".utf8)
                ))
        #expect(
            transcript.records[4].entry
                == .data(.client, [UInt8]("tab\there \"q\" back\\slash ".utf8) + [0, 0xFF]))
        #expect(transcript.records[5].entry == .tls("TLSv1.3 TLS_AES_256_GCM_SHA384 256"))
        #expect(transcript.records[6].entry == .closed(by: .client))
        #expect(transcript.records[7].entry == .reset)
        #expect(transcript.records[8].entry == .closed(by: .server))
        #expect(
            transcript.records[9] == TranscriptRecord(microseconds: 12_000_001, entry: .truncated))
        #expect(transcript.records[1].line == 6)
        // And writes back to the same text, byte for byte.
        #expect(String(decoding: TranscriptCodec.encode(transcript), as: UTF8.self) == Self.sample)
    }

    @Test func everyByteValueSurvivesTheRoundTripOnBothSides() throws {
        var generator = SplitMix(seed: 7)
        for round in 0..<200 {
            var transcript = SessionTranscript(metadata: [.init(key: "session", value: "r\(round)")]
            )
            var sent: [TranscriptSide: [UInt8]] = [.client: [], .server: []]
            var time: UInt64 = 0
            for _ in 0..<Int(generator.next() % 12) {
                let side: TranscriptSide = generator.next() % 2 == 0 ? .client : .server
                let bytes = (0..<Int(generator.next() % 40)).map { _ in
                    // LF and CR often, so that chunks split into lines.
                    let pick = generator.next() % 8
                    return pick == 0
                        ? 0x0A : pick == 1 ? 0x0D : UInt8(truncatingIfNeeded: generator.next())
                }
                time += generator.next() % 3
                transcript.records.append(
                    TranscriptRecord(microseconds: time, entry: .data(side, bytes)))
                sent[side]! += bytes
            }
            let text = TranscriptCodec.encode(transcript)
            // Visible: nothing below 0x20 but the LFs ending lines, nothing from 0x7F.
            #expect(text.allSatisfy { $0 == 0x0A || (0x20..<0x7F).contains($0) })
            let back = try TranscriptCodec.parse(text)
            #expect(back.bytes(from: .client) == sent[.client])
            #expect(back.bytes(from: .server) == sent[.server])
            #expect(back.metadata == transcript.metadata)
        }
    }

    @Test func aChunkSplitAtAnyPointGivesTheSameBytes() throws {
        let bytes = Array("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n".utf8)
        for split in 0...bytes.count {
            let transcript = SessionTranscript(records: [
                TranscriptRecord(microseconds: 1, entry: .data(.client, Array(bytes[..<split]))),
                TranscriptRecord(microseconds: 2, entry: .data(.client, Array(bytes[split...]))),
            ])
            let back = try TranscriptCodec.parse(TranscriptCodec.encode(transcript))
            #expect(back.bytes(from: .client) == bytes, "split at \(split)")
        }
    }

    @Test(arguments: [
        ("", 1, "empty file"),
        ("hello\n", 1, "not a transcript"),
        ("# MailLab session transcript 1\n0.000000 S \"x\"", 2, "last line has no LF"),
        ("# MailLab session transcript 1\nabc S \"x\"\n", 2, "expected SECONDS.MICROSECONDS"),
        ("# MailLab session transcript 1\n1.5 S \"x\"\n", 2, "expected SECONDS.MICROSECONDS"),
        ("# MailLab session transcript 1\n0.000000 X \"x\"\n", 2, "expected C, S or *"),
        ("# MailLab session transcript 1\n@ a b\n0.000000 C x\n", 3, "quoted string"),
        ("# MailLab session transcript 1\n0.000000 C \"\\q\"\n", 2, "unknown escape \\q"),
        ("# MailLab session transcript 1\n0.000000 C \"\\x4\"\n", 2, "two hex digits"),
        ("# MailLab session transcript 1\n0.000000 C \"a\"b\"\n", 2, "unescaped quote"),
        ("# MailLab session transcript 1\n0.000000 * hello\n", 2, "unknown note"),
        ("# MailLab session transcript 1\n0.000000 C \"a\"\n@ late x\n", 3, "metadata (@) after"),
    ])
    func aDamagedTranscriptIsRefusedWithItsLine(text: String, line: Int, message: String) {
        #expect {
            _ = try TranscriptCodec.parse(Array(text.utf8))
        } throws: { error in
            guard let error = error as? TranscriptParseError else { return false }
            return error.line == line && error.message.contains(message)
        }
    }
}

/// SplitMix64, for reproducible random input.
struct SplitMix {
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
