import Testing

@testable import SMTPProtocol

/// A v2 header: `command` 0 LOCAL / 1 PROXY, `family` byte, the address block, extra TLV bytes.
private func header(command: UInt8 = 1, family: UInt8, block: [UInt8], tlv: [UInt8] = [])
    -> [UInt8]
{
    let length = block.count + tlv.count
    return ProxyHeader.signature + [
        0x20 | command, family, UInt8(length >> 8), UInt8(length & 0xFF),
    ]
        + block + tlv
}

/// 192.0.2.7:50000 → 127.0.0.1:25.
private let inetBlock: [UInt8] = [192, 0, 2, 7, 127, 0, 0, 1, 0xC3, 0x50, 0x00, 0x19]

@Suite("PROXY protocol v2 header (listen … proxy-v2; OpenSMTPD proxy.c)")
struct ProxyHeaderTests {
    @Test("PROXY over TCP/IPv4: the client's address and port; the SMTP bytes after it are left")
    func inet() throws {
        let bytes = header(family: 0x11, block: inetBlock) + Array("EHLO x\r\n".utf8)
        let parsed = try #require(try ProxyHeader.parse(bytes))
        #expect(parsed.source == .inet(address: [192, 0, 2, 7], port: 50000))
        #expect(parsed.length == 28)
    }

    @Test("PROXY over TCP/IPv6, with TLVs after the addresses (skipped)")
    func inet6WithTLVs() throws {
        var block = [UInt8](repeating: 0, count: 36)
        block[0] = 0x20
        block[1] = 0x01
        block[15] = 0x09
        block[32] = 0x01
        block[33] = 0xBB
        let bytes = header(family: 0x21, block: block, tlv: [0x04, 0x00, 0x01, 0xAA])
        let parsed = try #require(try ProxyHeader.parse(bytes))
        #expect(parsed.source == .inet6(address: Array(block[0..<16]), port: 443))
        #expect(parsed.length == 16 + 36 + 4)
    }

    @Test("LOCAL (a health check): no source, the connection's own address stands")
    func local() throws {
        let parsed = try #require(
            try ProxyHeader.parse(header(command: 0, family: 0x00, block: [])))
        #expect(parsed == ProxyHeader(source: nil, length: 16))
    }

    @Test("a unix-domain client: the path up to its NUL")
    func unix() throws {
        var block = [UInt8](repeating: 0, count: 216)
        block.replaceSubrange(0..<9, with: Array("/run/x.s".utf8) + [0])
        let parsed = try #require(try ProxyHeader.parse(header(family: 0x31, block: block)))
        #expect(parsed.source == .unix(path: Array("/run/x.s".utf8)))
    }

    @Test("every prefix of a good header asks for more; the whole one parses")
    func incremental() throws {
        let bytes = header(family: 0x11, block: inetBlock)
        for end in 0..<bytes.count {
            #expect(try ProxyHeader.parse(Array(bytes[..<end])) == nil)
        }
        #expect(try ProxyHeader.parse(bytes) != nil)
    }

    /// Signature, version/command, family, a 16-bit length, then `rest`.
    private static func raw(
        _ versionCommand: UInt8, _ family: UInt8, _ length: UInt8, _ rest: [UInt8]
    )
        -> [UInt8]
    {
        var bytes = ProxyHeader.signature
        bytes += [versionCommand, family, 0, length]
        bytes += rest
        return bytes
    }

    static let refusals: [([UInt8], ProxyHeader.Failure)] = [
        (Array("EHLO x\r\n".utf8), .invalidSignature),
        (Array("PROXY TCP4 192.0.2.7 127.0.0.1 50000 25\r\n".utf8), .invalidSignature),
        (raw(0x11, 0x11, 12, inetBlock), .invalidVersion),
        (raw(0x21, 0x12, 12, inetBlock), .unsupportedAddressFamily),
        (raw(0x21, 0x11, 11, inetBlock), .addressInfoTooShort),
        (raw(0x22, 0x11, 12, inetBlock), .unknownCommand),
        (raw(0x21, 0x00, 0, []), .unspecifiedFamilyForProxy),
    ]

    @Test("refusals, with OpenSMTPD's reasons", arguments: refusals)
    func refused(bytes: [UInt8], failure: ProxyHeader.Failure) {
        #expect(throws: failure) { try ProxyHeader.parse(bytes) }
    }

    @Test("a wrong first byte is refused at once, before 16 bytes arrived")
    func earlyRefusal() {
        #expect(throws: ProxyHeader.Failure.invalidSignature) { try ProxyHeader.parse([0x45]) }
    }

    @Test("random bytes never crash and never claim more than they hold")
    func randomInput() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let count = Int(state >> 58)
            var bytes = ProxyHeader.signature
            bytes += [0x21, UInt8(truncatingIfNeeded: state >> 8)]
            for index in 0..<count {
                bytes.append(UInt8(truncatingIfNeeded: state >> UInt64(index % 56)))
            }
            if let parsed = try? ProxyHeader.parse(bytes) {
                #expect(parsed.length <= bytes.count)
            }
        }
    }
}
