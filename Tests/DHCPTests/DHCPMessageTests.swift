import DHCP
import Testing

/// The DHCPv4 codec: byte layout against RFC 2131's offsets, every option MailLab uses,
/// RFC 3396 long options, option overload, and hostile input (truncations at every length,
/// random bytes, each malformation named).
@Suite struct DHCPMessageTests {
    static let mac: [UInt8] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]

    /// A server's OFFER written out by hand from RFC 2131 §2's table (not by the encoder):
    /// 10.1.0.100 offered by 10.1.0.1, mask /24, router, DNS, one hour.
    static func handMadeOffer(overloadInFile: Bool = false) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 236)
        bytes[0] = 2  // BOOTREPLY
        bytes[1] = 1
        bytes[2] = 6
        bytes.replaceSubrange(4..<8, with: [0xDE, 0xAD, 0xBE, 0xEF])
        bytes[10] = 0x80  // broadcast
        bytes.replaceSubrange(16..<20, with: [10, 1, 0, 100])  // yiaddr
        bytes.replaceSubrange(28..<34, with: mac)
        bytes += [99, 130, 83, 99]
        bytes += [53, 1, 2]  // OFFER
        bytes += [54, 4, 10, 1, 0, 1]
        if overloadInFile {
            bytes += [52, 1, 1, 255]
            // The rest goes into `file` (offset 108).
            let more: [UInt8] = [51, 4, 0, 0, 0x0E, 0x10, 1, 4, 255, 255, 255, 0, 0, 255]
            bytes.replaceSubrange(108..<108 + more.count, with: more)
        } else {
            bytes += [51, 4, 0, 0, 0x0E, 0x10]  // 3600 s
            bytes += [1, 4, 255, 255, 255, 0]
            bytes += [3, 4, 10, 1, 0, 1]
            bytes += [6, 8, 10, 1, 0, 1, 10, 1, 0, 2]
            bytes += [0, 0]  // pads
            bytes += [255]
        }
        return bytes
    }

    @Test func aHandMadeOfferDecodesToEveryField() throws {
        let offer = try DHCPMessage(decoding: Self.handMadeOffer())
        #expect(offer.operation == .reply)
        #expect(offer.transactionID == 0xDEAD_BEEF)
        #expect(offer.flags == DHCPMessage.broadcastFlag)
        #expect(offer.yourAddress == IPv4Address("10.1.0.100"))
        #expect(offer.hardwareAddress == Self.mac)
        #expect(offer.messageType == .offer)
        #expect(offer.options.serverIdentifier == IPv4Address("10.1.0.1"))
        #expect(offer.options.leaseTime == 3600)
        #expect(offer.options.subnetMask?.maskLength == 24)
        #expect(offer.options.routers == [IPv4Address("10.1.0.1")!])
        #expect(
            offer.options.domainNameServers == [IPv4Address("10.1.0.1")!, IPv4Address("10.1.0.2")!])
    }

    @Test func theEncoderPutsEachFieldAtItsRFCOffset() {
        var exchange = DHCPClientExchange(
            hardwareAddress: Self.mac, transactionID: 0x0102_0304, hostName: "gruen")
        guard case .send(let discover) = exchange.start().first else {
            Issue.record("no DISCOVER")
            return
        }
        let bytes = discover.bytes
        #expect(bytes.count == 300)
        #expect(bytes[0] == 1 && bytes[1] == 1 && bytes[2] == 6 && bytes[3] == 0)
        #expect(Array(bytes[4..<8]) == [1, 2, 3, 4])
        #expect(Array(bytes[10..<12]) == [0x80, 0])
        #expect(bytes[12..<28].allSatisfy { $0 == 0 })
        #expect(Array(bytes[28..<34]) == Self.mac)
        #expect(bytes[34..<236].allSatisfy { $0 == 0 })
        #expect(Array(bytes[236..<240]) == [99, 130, 83, 99])
        #expect(Array(bytes[240..<243]) == [53, 1, 1])
        // Client identifier (type 1 + MAC), host name, parameter request list, end.
        #expect(Array(bytes[243..<252]) == [61, 7, 1] + Self.mac)
        #expect(Array(bytes[252..<259]) == [12, 5] + Array("gruen".utf8))
        #expect(Array(bytes[259..<265]) == [55, 4, 1, 3, 6, 12])
        #expect(bytes[265] == 255)
    }

    @Test(arguments: DHCPMessageType.allCases)
    func everyMessageTypeSurvivesARoundTrip(type: DHCPMessageType) throws {
        var message = DHCPMessage(
            operation: type == .offer || type == .ack || type == .nak ? .reply : .request,
            transactionID: 77, hardwareAddress: Self.mac)
        message.options[53] = [type.rawValue]
        message.options[50] = [10, 1, 0, 7]
        message.options[54] = [10, 1, 0, 1]
        message.options[51] = [0, 0, 1, 0]
        message.options[1] = [255, 255, 0, 0]
        message.options[3] = [10, 1, 0, 1]
        message.options[6] = [10, 1, 0, 1]
        message.options[12] = Array("blau".utf8)
        message.options[55] = [1, 3, 6]
        message.options[61] = [1] + Self.mac
        message.clientAddress = IPv4Address("10.1.0.7")!
        message.serverName = Array("lan".utf8)
        message.bootFile = Array("pxe".utf8)
        let decoded = try DHCPMessage(decoding: message.bytes)
        #expect(decoded == message)
        #expect(decoded.messageType == type)
    }

    @Test func aValueLongerThan255BytesIsSplitAndJoinedAgain() throws {
        var message = DHCPMessage(operation: .request, transactionID: 1, hardwareAddress: Self.mac)
        message.options[53] = [1]
        let long = (0..<600).map { UInt8($0 % 251) }
        message.options[12] = long
        let bytes = message.bytes
        // Three pieces: 255 + 255 + 90.
        #expect(bytes[243] == 12 && bytes[244] == 255)
        #expect(bytes[243 + 257] == 12 && bytes[244 + 257] == 255)
        #expect(bytes[243 + 514] == 12 && bytes[244 + 514] == 90)
        #expect(try DHCPMessage(decoding: bytes).options[12] == long)
    }

    @Test func overloadedFileFieldIsReadAfterTheOptions() throws {
        let offer = try DHCPMessage(decoding: Self.handMadeOffer(overloadInFile: true))
        #expect(offer.options.leaseTime == 3600)
        #expect(offer.options.subnetMask?.maskLength == 24)
        #expect(offer.bootFile.isEmpty)
        // Order of appearance: options first, then `file`.
        #expect(offer.options.entries.map(\.code) == [53, 54, 52, 51, 1])
    }

    @Test func overloadedServerNameFieldIsReadToo() throws {
        var bytes = Self.handMadeOffer()
        // Replace the options by type, server id, overload 2 (sname) and put the lease
        // time into sname (offset 44).
        bytes.removeSubrange(240...)
        bytes += [53, 1, 2, 54, 4, 10, 1, 0, 1, 52, 1, 2, 255]
        bytes.replaceSubrange(44..<51, with: [51, 4, 0, 0, 0, 60, 255])
        let offer = try DHCPMessage(decoding: bytes)
        #expect(offer.options.leaseTime == 60)
        #expect(offer.serverName.isEmpty)
    }

    @Test func everyTruncationBeforeTheEndOptionIsRefusedAndNoneAfterIt() throws {
        let bytes = Self.handMadeOffer()
        let end = bytes.lastIndex(of: 255)!
        let whole = try DHCPMessage(decoding: bytes)
        for length in 0..<bytes.count {
            let prefix = bytes[..<length]
            if length <= end {
                #expect(throws: DHCPDecodeError.self, "length \(length)") {
                    try DHCPMessage(decoding: prefix)
                }
            } else {
                #expect(try DHCPMessage(decoding: prefix) == whole)
            }
        }
    }

    @Test func randomBytesAreRefusedOrDecodedNeverTrapped() {
        var generator = SplitMix(seed: 2131)
        var decoded = 0
        for round in 0..<20_000 {
            var bytes = Self.handMadeOffer()
            // Corrupt a few bytes of a valid message, or take pure noise.
            if round % 4 == 0 {
                bytes = (0..<Int(generator.next() % 400)).map { _ in
                    UInt8(truncatingIfNeeded: generator.next())
                }
            } else {
                for _ in 0..<(1 + generator.next() % 6) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(
                        truncatingIfNeeded: generator.next())
                }
            }
            if (try? DHCPMessage(decoding: bytes)) != nil { decoded += 1 }
        }
        // Corrupting the header or a pad leaves a valid message: some must decode.
        #expect(decoded > 0)
    }

    @Test func eachMalformationIsNamed() {
        func error(_ edit: (inout [UInt8]) -> Void) -> DHCPDecodeError? {
            var bytes = Self.handMadeOffer()
            edit(&bytes)
            do {
                _ = try DHCPMessage(decoding: bytes)
                return nil
            } catch {
                return error
            }
        }
        #expect(error { $0 = Array($0[..<239]) } == .tooShort(239))
        #expect(error { $0[0] = 3 } == .badOperation(3))
        #expect(error { $0[2] = 17 } == .badHardwareLength(17))
        #expect(error { $0[236] = 1 } == .badMagicCookie([1, 130, 83, 99]))
        #expect(error { $0.removeLast() } == .missingEnd(field: "options"))
        let tail = Self.handMadeOffer().count - 3 - 240
        #expect(
            error {
                $0.removeSubrange(($0.count - 3)...)
                $0 += [6, 9, 1]
            } == .truncatedOption(code: 6, offset: tail, field: "options"))
        #expect(error { $0.replaceSubrange(240..<243, with: [0, 0, 0]) } == .missingMessageType)
        #expect(
            error { $0[242] = 9 } == .badOption(code: 53, reason: "unknown type 9"))
        #expect(
            error { $0.replaceSubrange(240..<243, with: [53, 0, 0]) }
                == .badOption(code: 53, reason: "length 0, expected 1"))
        // A mask with a hole: 255.0.255.0.
        let mask = Self.handMadeOffer().firstRange(of: [1, 4, 255, 255, 255, 0])!.lowerBound
        #expect(
            error { $0.replaceSubrange(mask + 2..<mask + 6, with: [255, 0, 255, 0]) }
                == .badOption(code: 1, reason: "255.0.255.0 is not a contiguous mask"))
        #expect(
            error { $0[mask + 1] = 3 } != nil)
        #expect(
            error {
                $0[$0.count - 1] = 52
                $0 += [1, 7, 255]
            } == .badOption(code: 52, reason: "expected one byte of 1, 2 or 3"))
    }

    @Test func messagesSayWhatIsWrong() {
        #expect(
            DHCPDecodeError.truncatedOption(code: 6, offset: 30, field: "file").description
                == "option 6 at offset 30 of file runs past its end")
        #expect(
            DHCPDecodeError.badOption(code: 51, reason: "length 3, expected 4").description
                == "option 51 (IP address lease time): length 3, expected 4")
    }

    @Test func addressesParseAndPrintStrictly() {
        #expect(IPv4Address("10.1.0.100")?.value == 0x0A01_0064)
        #expect(IPv4Address(0x0A01_0064).description == "10.1.0.100")
        for bad in ["", "10.1.0", "10.1.0.256", "10.01.0.1", "1.2.3.4.5", "a.b.c.d", "10..0.1"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address("255.255.255.0")?.maskLength == 24)
        #expect(IPv4Address("0.0.0.0")?.maskLength == 0)
        #expect(IPv4Address("255.255.255.255")?.maskLength == 32)
        #expect(IPv4Address("255.0.255.0")?.maskLength == nil)
    }
}

/// A seeded generator, so that a failing round can be replayed.
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
