/// What a DHCPACK granted: the address with its prefix, the router and name servers if the
/// server handed any out, for how long, and who granted it (for the RELEASE).
public struct DHCPLease: Sendable, Equatable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int
    public var routers: [IPv4Address]
    public var domainNameServers: [IPv4Address]
    /// Seconds; `UInt32.max` is infinite.
    public var leaseTime: UInt32
    /// Option 54: where the RELEASE goes.
    public var server: IPv4Address
    /// The client's hardware address the lease is bound to.
    public var hardwareAddress: [UInt8]

    public init(
        address: IPv4Address, prefixLength: Int, routers: [IPv4Address] = [],
        domainNameServers: [IPv4Address] = [], leaseTime: UInt32, server: IPv4Address,
        hardwareAddress: [UInt8]
    ) {
        self.address = address
        self.prefixLength = prefixLength
        self.routers = routers
        self.domainNameServers = domainNameServers
        self.leaseTime = leaseTime
        self.server = server
        self.hardwareAddress = hardwareAddress
    }

    /// From an ACK; nil if it lacks what a lease needs (a server identifier, a lease time,
    /// an address). Without a subnet mask the address's class decides (RFC 2131 §3.3's
    /// fallback as dhclient applies it).
    public init?(ack: DHCPMessage) {
        guard ack.messageType == .ack, ack.yourAddress != .any,
            let server = ack.options.serverIdentifier, let time = ack.options.leaseTime
        else { return nil }
        address = ack.yourAddress
        prefixLength = ack.options.subnetMask?.maskLength ?? Self.classfulLength(ack.yourAddress)
        routers = ack.options.routers
        domainNameServers = ack.options.domainNameServers
        leaseTime = time
        self.server = server
        hardwareAddress = ack.hardwareAddress
    }

    static func classfulLength(_ address: IPv4Address) -> Int {
        switch address.value >> 24 {
        case 0..<128: return 8
        case 128..<192: return 16
        default: return 24
        }
    }

    /// `10.1.0.100/24 from 10.1.0.1 (router 10.1.0.1, dns 10.1.0.1, lease 3600 s)`.
    public var description: String {
        var details: [String] = []
        if let router = routers.first { details.append("router \(router)") }
        if !domainNameServers.isEmpty {
            details.append("dns " + domainNameServers.map(\.description).joined(separator: ","))
        }
        details.append(leaseTime == .max ? "lease infinite" : "lease \(leaseTime) s")
        return "\(address)/\(prefixLength) from \(server) (" + details.joined(separator: ", ") + ")"
    }

    /// `aa:bb:cc:dd:ee:ff`.
    public static func hardwareText(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// Parses `aa:bb:…`.
    public static func hardwareAddress(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":")
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        return bytes.count == parts.count && !bytes.isEmpty ? bytes : nil
    }

    /// One line of words, for state files: `ADDRESS/LEN SERVER ROUTER|- MAC SECONDS`.
    public var words: [String] {
        [
            "\(address)/\(prefixLength)", "\(server)", routers.first.map(\.description) ?? "-",
            Self.hardwareText(hardwareAddress), "\(leaseTime)",
        ]
    }

    /// Reads `words` back.
    public init?(words: [String]) {
        guard words.count == 5 else { return nil }
        let prefix = words[0].split(separator: "/")
        guard prefix.count == 2, let address = IPv4Address(String(prefix[0])),
            let length = Int(prefix[1]), (0...32).contains(length),
            let server = IPv4Address(words[1]),
            let hardware = Self.hardwareAddress(words[3]), let time = UInt32(words[4])
        else { return nil }
        var routers: [IPv4Address] = []
        if words[2] != "-" {
            guard let router = IPv4Address(words[2]) else { return nil }
            routers = [router]
        }
        self.init(
            address: address, prefixLength: length, routers: routers, leaseTime: time,
            server: server, hardwareAddress: hardware)
    }
}
