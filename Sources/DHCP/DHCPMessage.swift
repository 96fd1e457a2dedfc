/// A DHCPv4 message (RFC 2131 §2): the BOOTP header and the options after the magic cookie.
/// Pure: bytes in, a message out, and back.
public struct DHCPMessage: Sendable, Equatable {
    /// BOOTREQUEST (client to server) or BOOTREPLY.
    public enum Operation: UInt8, Sendable { case request = 1, reply = 2 }

    public var operation: Operation
    /// `htype`: 1 for Ethernet (a veth is one).
    public var hardwareType: UInt8 = 1
    public var hops: UInt8 = 0
    /// `xid`: chosen by the client, echoed by the server.
    public var transactionID: UInt32
    public var seconds: UInt16 = 0
    /// Bit 15 (0x8000): the client cannot receive unicast before it has an address, so the
    /// server must broadcast its reply.
    public var flags: UInt16 = 0
    /// `ciaddr`: the client's address when it has one (RELEASE, renewing).
    public var clientAddress: IPv4Address = .any
    /// `yiaddr`: the address the server offers or assigns.
    public var yourAddress: IPv4Address = .any
    /// `siaddr`: the next server (boot), not the DHCP server (that is option 54).
    public var serverAddress: IPv4Address = .any
    /// `giaddr`: a relay agent's address.
    public var relayAddress: IPv4Address = .any
    /// `chaddr`, only the first `hlen` bytes (at most 16).
    public var hardwareAddress: [UInt8]
    /// `sname` and `file` as text up to their first NUL (empty when they carried options).
    public var serverName: [UInt8] = []
    public var bootFile: [UInt8] = []
    public var options = DHCPOptions()

    public static let broadcastFlag: UInt16 = 0x8000
    /// 99.130.83.99 (RFC 2131 §3).
    public static let magicCookie: [UInt8] = [99, 130, 83, 99]
    /// BOOTP's minimum message (RFC 1542 §2.1): some relays and servers drop shorter ones.
    public static let minimumLength = 300
    static let headerLength = 236
    static let serverNameRange = 44..<108
    static let bootFileRange = 108..<236

    public init(
        operation: Operation, transactionID: UInt32, hardwareAddress: [UInt8],
        options: DHCPOptions = DHCPOptions()
    ) {
        self.operation = operation
        self.transactionID = transactionID
        self.hardwareAddress = hardwareAddress
        self.options = options
    }

    public var messageType: DHCPMessageType? { options.messageType }

    // MARK: Decoding

    /// Parses a message; throws on anything RFC 2131/2132 does not allow, with the field.
    /// `sname` and `file` are read as options when option 52 says so.
    public init(decoding bytes: some Collection<UInt8>) throws(DHCPDecodeError) {
        let bytes = Array(bytes)
        guard bytes.count >= Self.headerLength + 4 else { throw .tooShort(bytes.count) }
        guard let operation = Operation(rawValue: bytes[0]) else { throw .badOperation(bytes[0]) }
        guard bytes[2] <= 16 else { throw .badHardwareLength(bytes[2]) }
        let cookie = Array(bytes[236..<240])
        guard cookie == Self.magicCookie else { throw .badMagicCookie(cookie) }
        func word(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        self.operation = operation
        hardwareType = bytes[1]
        hops = bytes[3]
        transactionID = word(4)
        seconds = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        flags = UInt16(bytes[10]) << 8 | UInt16(bytes[11])
        clientAddress = IPv4Address(word(12))
        yourAddress = IPv4Address(word(16))
        serverAddress = IPv4Address(word(20))
        relayAddress = IPv4Address(word(24))
        hardwareAddress = Array(bytes[28..<28 + Int(bytes[2])])

        var options = DHCPOptions()
        try Self.readOptions(bytes[240...], field: "options", into: &options)
        // A bad option 52 must be reported as such, not as the fields it misnames.
        try options.validate()
        let overload = options[DHCPOptionCode.overload].flatMap { $0.count == 1 ? $0[0] : nil }
        // RFC 2131 §4.1: options, then `file`, then `sname`.
        if let overload, overload & 1 != 0 {
            try Self.readOptions(bytes[Self.bootFileRange], field: "file", into: &options)
        } else {
            bootFile = Self.text(bytes[Self.bootFileRange])
        }
        if let overload, overload & 2 != 0 {
            try Self.readOptions(bytes[Self.serverNameRange], field: "sname", into: &options)
        } else {
            serverName = Self.text(bytes[Self.serverNameRange])
        }
        try options.validate()
        guard options.messageType != nil else { throw .missingMessageType }
        self.options = options
    }

    private static func text(_ field: ArraySlice<UInt8>) -> [UInt8] {
        Array(field.prefix { $0 != 0 })
    }

    /// Reads code-length-value options up to the end option; pads are skipped. An option
    /// 52 inside an overloaded field is not followed again.
    private static func readOptions(
        _ field: ArraySlice<UInt8>, field name: String, into options: inout DHCPOptions
    ) throws(DHCPDecodeError) {
        var index = field.startIndex
        while index < field.endIndex {
            let code = field[index]
            if code == DHCPOptionCode.end { return }
            if code == DHCPOptionCode.pad {
                index += 1
                continue
            }
            let offset = index - field.startIndex
            guard index + 1 < field.endIndex else {
                throw .truncatedOption(code: code, offset: offset, field: name)
            }
            let length = Int(field[index + 1])
            let start = index + 2
            guard start + length <= field.endIndex else {
                throw .truncatedOption(code: code, offset: offset, field: name)
            }
            if !(code == DHCPOptionCode.overload && name != "options") {
                options.append(code, field[start..<start + length])
            }
            index = start + length
        }
        throw .missingEnd(field: name)
    }

    // MARK: Encoding

    /// The message on the wire: header, cookie, options (a value over 255 bytes split as
    /// RFC 3396 says), end, padded to BOOTP's 300 bytes. Never overloads `sname`/`file`.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.headerLength)
        func put(_ value: UInt32, at: Int) {
            out.replaceSubrange(at..<at + 4, with: IPv4Address(value).bytes)
        }
        out[0] = operation.rawValue
        out[1] = hardwareType
        let hardware = hardwareAddress.prefix(16)
        out[2] = UInt8(hardware.count)
        out[3] = hops
        put(transactionID, at: 4)
        out[8] = UInt8(seconds >> 8)
        out[9] = UInt8(seconds & 0xFF)
        out[10] = UInt8(flags >> 8)
        out[11] = UInt8(flags & 0xFF)
        put(clientAddress.value, at: 12)
        put(yourAddress.value, at: 16)
        put(serverAddress.value, at: 20)
        put(relayAddress.value, at: 24)
        out.replaceSubrange(28..<28 + hardware.count, with: hardware)
        let name = serverName.prefix(Self.serverNameRange.count - 1)
        out.replaceSubrange(44..<44 + name.count, with: name)
        let file = bootFile.prefix(Self.bootFileRange.count - 1)
        out.replaceSubrange(108..<108 + file.count, with: file)
        out += Self.magicCookie
        for (code, data) in options.entries
        where code != DHCPOptionCode.pad && code != DHCPOptionCode.end {
            var rest = data[...]
            repeat {
                let piece = rest.prefix(255)
                out += [code, UInt8(piece.count)] + piece
                rest = rest.dropFirst(piece.count)
            } while !rest.isEmpty
        }
        out.append(DHCPOptionCode.end)
        if out.count < Self.minimumLength {
            out += [UInt8](repeating: 0, count: Self.minimumLength - out.count)
        }
        return out
    }
}
