import DNSMessage
import Testing

/// A response as a recursive server sends it for `example.org MX`, built by hand from RFC
/// 1035 §4.1 so that the decoder is checked against bytes, not against its own encoder.
private let mxResponse: [UInt8] =
    [
        0xBE, 0xEF,  // ID
        0x81, 0x80,  // QR, RD, RA, NOERROR
        0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,  // 1 question, 2 answers, 1 additional
        // offset 12: example.org MX IN
        7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x6F, 0x72, 0x67, 0,
        0x00, 0x0F, 0x00, 0x01,
        // answer 1: ptr(12) MX IN ttl 300, pref 10, mx.ptr(12)
        0xC0, 0x0C, 0x00, 0x0F, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2C, 0x00, 0x07,
        0x00, 0x0A, 2, 0x6D, 0x78, 0xC0, 0x0C,
        // answer 2: ptr(12) MX IN ttl 300, pref 20, backup.example.org written out
        0xC0, 0x0C, 0x00, 0x0F, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2C, 0x00, 0x0B,
        0x00, 0x14, 6, 0x62, 0x61, 0x63, 0x6B, 0x75, 0x70, 0xC0, 0x0C,
        // additional: mx.example.org (ptr to offset 43: "mx" + ptr) A 10.0.0.25
        0xC0, 0x2B, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04,
        10, 0, 0, 25,
    ]

@Suite struct DNSMessageCodecTests {
    @Test func decodesAnAnswerWithCompressionPointers() throws {
        let message = try DNSMessage(decoding: mxResponse)
        #expect(message.header.id == 0xBEEF)
        #expect(message.header.isResponse && message.header.recursionAvailable)
        #expect(!message.header.isTruncated)
        #expect(message.header.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: DNSName("example.org")!, type: .mx)])
        #expect(message.answers.count == 2)
        #expect(
            message.answers[0].data == .mx(preference: 10, exchange: DNSName("mx.example.org")!))
        #expect(
            message.answers[1].data
                == .mx(preference: 20, exchange: DNSName("backup.example.org")!))
        #expect(message.answers[1].ttl == 300)
        #expect(message.additionals.first?.name == DNSName("mx.example.org"))
        #expect(message.additionals.first?.data == .a([10, 0, 0, 25]))
    }

    @Test func encodesAQueryAsResMkqueryDoes() {
        let query = DNSMessage.query(id: 0x1234, name: DNSName("Example.ORG")!, type: .aaaa)
        #expect(
            query.encode() == [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                7, 0x45, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x4F, 0x52, 0x47, 0,
                0x00, 0x1C, 0x00, 0x01,
            ])
    }

    @Test func encodingCompressesRepeatedNamesAndRoundTrips() throws {
        var message = try DNSMessage(decoding: mxResponse)
        let bytes = message.encode()
        // The same compression the hand-made message uses, so the same size.
        #expect(bytes.count == mxResponse.count)
        #expect(try DNSMessage(decoding: bytes) == message)
        message.header.isTruncated = true
        message.header.responseCode = .serverFailure
        let decoded = try DNSMessage(decoding: message.encode())
        #expect(decoded.header.isTruncated)
        #expect(decoded.header.responseCode == .serverFailure)
    }

    @Test func namesCompareWithoutCase() {
        #expect(DNSName("MX.Example.org") == DNSName("mx.example.ORG."))
        #expect(DNSName("mx.example.org")!.description == "mx.example.org")
        #expect(DNSName(".")!.isRoot)
        #expect(DNSName("a..b") == nil)
        #expect(DNSName(String(repeating: "a", count: 64)) == nil)
        #expect(
            DNSName(
                Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
            ) == nil)
        #expect(
            DNSName(
                Array(repeating: String(repeating: "a", count: 62), count: 4).joined(separator: ".")
            ) != nil)
    }

    @Test func aPointerLoopIsRefused() {
        // A name at offset 12 that points at itself, and two names pointing at each other.
        var selfLoop = Array(mxResponse[0..<12])
        selfLoop[5] = 1
        selfLoop[7] = 0
        selfLoop[11] = 0
        selfLoop += [0xC0, 0x0C, 0x00, 0x0F, 0x00, 0x01]
        #expect(throws: DNSDecodeError(reason: .badPointer, offset: 12)) {
            try DNSMessage(decoding: selfLoop)
        }
        var mutual = Array(mxResponse[0..<12])
        mutual[7] = 0
        mutual[11] = 0
        // offset 12: "a" then pointer to 17; offset 17 (question name): "b" then pointer to 12.
        mutual += [1, 0x61, 0xC0, 0x11, 0x00, 1, 0x62, 0xC0, 0x0C, 0x00, 0x0F, 0x00, 0x01]
        mutual[5] = 1
        #expect(throws: DNSDecodeError.self) { try DNSMessage(decoding: mutual) }
    }

    @Test func aForwardPointerIsRefused() {
        var message = mxResponse
        // Answer 1's owner pointer (offset 29) now points forward, at answer 2.
        message[30] = 0x30
        #expect(throws: DNSDecodeError(reason: .badPointer, offset: 29)) {
            try DNSMessage(decoding: message)
        }
    }

    @Test func everyTruncationOfAValidMessageIsAnErrorNotACrash() {
        for length in 0..<mxResponse.count {
            #expect(throws: DNSDecodeError.self) {
                try DNSMessage(decoding: Array(mxResponse[..<length]))
            }
        }
    }

    @Test func trailingBytesAreRefused() {
        #expect(throws: DNSDecodeError(reason: .trailingBytes, offset: mxResponse.count)) {
            try DNSMessage(decoding: mxResponse + [0])
        }
    }

    @Test func recordDataMustMatchItsType() {
        // The additional A record with RDLENGTH 5.
        var message = mxResponse
        message[message.count - 5] = 5
        message.append(0)
        #expect(throws: DNSDecodeError.self) { try DNSMessage(decoding: message) }
        // An MX whose exchange runs past its RDLENGTH (7 → 5).
        var mx = mxResponse
        mx[40] = 5
        #expect(throws: DNSDecodeError.self) { try DNSMessage(decoding: mx) }
    }

    @Test func reservedLabelTypesAreRefused() {
        var message = mxResponse
        message[12] = 0x47  // 0b01 label type
        #expect(throws: DNSDecodeError(reason: .badLabelType, offset: 12)) {
            try DNSMessage(decoding: message)
        }
    }

    @Test func aNameOver255BytesThroughPointersIsRefused() {
        // Five names of 60-byte labels, each pointing at the one before: the fifth is 306
        // bytes long once followed.
        var bytes: [UInt8] = [0, 1, 0x81, 0x80, 0, 5, 0, 0, 0, 0, 0, 0]
        var previous: Int? = nil
        for _ in 0..<5 {
            let start = bytes.count
            bytes.append(60)
            bytes += Array(repeating: 0x61, count: 60)
            if let previous {
                bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            } else {
                bytes.append(0)
            }
            bytes += [0, 1, 0, 1]
            previous = start
        }
        #expect(throws: DNSDecodeError.self) { try DNSMessage(decoding: bytes) }
        // Four of them are fine (245 bytes).
        var four = bytes
        four[5] = 4
        let end = 12 + 66 + 3 * 67
        #expect(throws: Never.self) { try DNSMessage(decoding: Array(four[..<end])) }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SplitMix(seed: 5321)
        for _ in 0..<20000 {
            let length = Int(generator.next() % 600)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Plausible counts, so that decoding gets past the header.
            if bytes.count >= 12 {
                bytes[4] = 0
                bytes[5] = UInt8(generator.next() % 3)
                bytes[6] = 0
                bytes[7] = UInt8(generator.next() % 4)
            }
            _ = try? DNSMessage(decoding: bytes)
        }
        // Random mutations of a valid message: decoded or refused, never a crash.
        for _ in 0..<20000 {
            var bytes = mxResponse
            for _ in 0..<(1 + generator.next() % 4) {
                bytes[Int(generator.next() % UInt64(bytes.count))] =
                    UInt8(truncatingIfNeeded: generator.next())
            }
            if let message = try? DNSMessage(decoding: bytes) {
                // What decodes encodes and decodes to the same message.
                #expect((try? DNSMessage(decoding: message.encode())) == message)
            }
        }
    }
}

/// A small seeded generator (SplitMix64) so that failures reproduce.
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
