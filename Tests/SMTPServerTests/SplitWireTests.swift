import Testing

@testable import SMTPServer

@Suite struct SplitWireTests {
    static let samples: [SplitRecord] = [
        .begin(
            id: 7, sender: SplitAddress(localPart: "alice", domain: "example.org"),
            recipients: [
                SplitRecipient(
                    address: SplitAddress(localPart: "bob", domain: "example.com"),
                    original: "Bob@example.com", action: "local"),
                SplitRecipient(
                    address: SplitAddress(localPart: "jürgen", domain: "例え.jp"),
                    original: "jürgen@例え.jp", action: "utf8"),
            ]),
        .begin(id: 1, sender: nil, recipients: []),
        .opened(id: 9, files: 3, more: false),
        .opened(id: 9, files: 253, more: true),
        .failed(id: 9, operation: "open", object: "/m/tmp/x", errno: 28),
        .failed(id: 2, operation: "", object: "", errno: -1),
        .commit(id: 9, contentBytes: 1 << 40),
        .committed(id: 9, paths: ["/m/new/a", "/m/new/b"]),
        .abort(id: .max),
        .auth(id: 3, user: Array("user".utf8), password: [0xFF, 0x00, 0x80]),
        .authed(id: 3, result: .temporaryFailure),
        .faults(text: "fault seed 4\nfault at data reply \"451 4.3.0 x\"\n"),
        .deliver(
            id: 11, sender: nil,
            recipients: [
                SplitRecipient(
                    address: SplitAddress(localPart: "c", domain: "d"), original: "c@d",
                    action: "local")
            ], content: Array("Subject: s\n\nbody\n".utf8)),
        .transcript(id: 12, name: "20261203T134000-3f2a0c1d9e8b7a65.transcript"),
        .transcript(id: 13, name: "../not/checked/here"),
    ]

    @Test func aCommitRecordIsItsBytes() throws {
        let bytes = try SplitRecord.commit(id: 0x0102, contentBytes: 0x0A0B).encoded()
        #expect(bytes == [1, 4, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0x0A, 0x0B])
        #expect(try SplitRecord(decoding: bytes) == .commit(id: 0x0102, contentBytes: 0x0A0B))
    }

    @Test func aBeginRecordIsItsBytes() throws {
        let record = SplitRecord.begin(
            id: 5, sender: nil,
            recipients: [
                SplitRecipient(
                    address: SplitAddress(localPart: "a", domain: "b"), original: "a@b",
                    action: "l")
            ])
        let bytes = try record.encoded()
        #expect(
            bytes == [1, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 1]
                + [0, 1, 97] + [0, 1, 98] + [0, 3, 97, 64, 98] + [0, 1, 108])
        #expect(try SplitRecord(decoding: bytes) == record)
    }

    /// A name, not checked here: the parent checks its shape and answers FAILED.
    @Test func aTranscriptRecordIsItsBytes() throws {
        let record = SplitRecord.transcript(id: 0x0304, name: "a.t")
        let bytes = try record.encoded()
        #expect(bytes == [1, 11, 0, 0, 0, 0, 0, 0, 3, 4, 0, 3, 97, 46, 116])
        #expect(try SplitRecord(decoding: bytes) == record)
        #expect(throws: SplitWireError.truncated(field: "transcript name")) {
            try SplitRecord(decoding: Array(bytes.dropLast()))
        }
        #expect(throws: SplitWireError.truncated(field: "transcript name length")) {
            try SplitRecord(decoding: Array(bytes.prefix(11)))
        }
        #expect(throws: SplitWireError.invalidUTF8(field: "transcript name")) {
            try SplitRecord(decoding: [1, 11, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0xC0])
        }
        #expect(throws: SplitWireError.invalidValue(field: "transaction id")) {
            try SplitRecord(decoding: [1, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(throws: SplitWireError.trailingBytes(count: 2)) {
            try SplitRecord(decoding: bytes + [0, 0])
        }
        #expect(throws: SplitWireError.fieldTooLong(field: "transcript name", bytes: 70_000)) {
            try SplitRecord.transcript(id: 1, name: String(repeating: "x", count: 70_000))
                .encoded()
        }
    }

    @Test func everyRecordTypeDecodesToWhatWasEncoded() throws {
        for record in Self.samples {
            #expect(try SplitRecord(decoding: record.encoded()) == record)
        }
    }

    @Test func malformedRecordsAreTypedErrors() throws {
        let good = try SplitRecord.opened(id: 1, files: 2, more: false).encoded()
        #expect(throws: SplitWireError.empty) { try SplitRecord(decoding: []) }
        #expect(throws: SplitWireError.unknownVersion(2)) {
            try SplitRecord(decoding: [2] + good.dropFirst())
        }
        #expect(throws: SplitWireError.unknownType(99)) {
            try SplitRecord(decoding: [1, 99] + good.dropFirst(2))
        }
        #expect(throws: SplitWireError.truncated(field: "more flag")) {
            try SplitRecord(decoding: Array(good.dropLast()))
        }
        #expect(throws: SplitWireError.trailingBytes(count: 1)) {
            try SplitRecord(decoding: good + [0])
        }
        #expect(throws: SplitWireError.invalidValue(field: "transaction id")) {
            try SplitRecord(decoding: [1, 6, 0, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(throws: SplitWireError.invalidValue(field: "auth result")) {
            try SplitRecord(decoding: [1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 3])
        }
        #expect(throws: SplitWireError.invalidUTF8(field: "path")) {
            try SplitRecord(decoding: [1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0xFF])
        }
        #expect(throws: SplitWireError.truncated(field: "path")) {
            try SplitRecord(decoding: [1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 9, 65])
        }
        #expect(throws: SplitWireError.tooLong(bytes: SplitRecord.maximumBytes + 1)) {
            try SplitRecord(decoding: [UInt8](repeating: 1, count: SplitRecord.maximumBytes + 1))
        }
        #expect(throws: SplitWireError.self) {
            try SplitRecord.faults(text: String(repeating: "x", count: 70_000)).encoded()
        }
    }

    /// Random packets and valid packets with random bytes changed, cut or added: each decodes
    /// to a record that encodes back to the same bytes, or is a `SplitWireError`.
    @Test func randomPacketsDecodeOrFailWithATypedError() throws {
        var random = SeededRandom(seed: 0x5EED_5011)
        let valid = try Self.samples.map { try $0.encoded() }
        var decoded = 0
        var refused = 0
        for round in 0..<20_000 {
            var packet: [UInt8]
            if round % 2 == 0 {
                packet = (0..<Int.random(in: 0..<40, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
                if !packet.isEmpty && round % 4 == 0 { packet[0] = 1 }
            } else {
                packet = valid[Int.random(in: 0..<valid.count, using: &random)]
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0 where !packet.isEmpty:
                        packet[Int.random(in: 0..<packet.count, using: &random)] = UInt8.random(
                            in: 0...255, using: &random)
                    case 1 where !packet.isEmpty:
                        packet.removeLast(Int.random(in: 1...packet.count, using: &random))
                    default:
                        packet.append(UInt8.random(in: 0...255, using: &random))
                    }
                }
            }
            do {
                let record = try SplitRecord(decoding: packet)
                #expect(try record.encoded() == packet)
                decoded += 1
            } catch {
                refused += 1
            }
        }
        #expect(decoded > 0 && refused > 0)
    }
}

/// splitmix64: the same packets on every run.
struct SeededRandom: RandomNumberGenerator {
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
