/// The option codes MailLab reads and writes (RFC 2132).
public enum DHCPOptionCode {
    public static let pad: UInt8 = 0
    public static let subnetMask: UInt8 = 1
    public static let router: UInt8 = 3
    public static let domainNameServer: UInt8 = 6
    public static let hostName: UInt8 = 12
    public static let requestedAddress: UInt8 = 50
    public static let leaseTime: UInt8 = 51
    public static let overload: UInt8 = 52
    public static let messageType: UInt8 = 53
    public static let serverIdentifier: UInt8 = 54
    public static let parameterRequestList: UInt8 = 55
    public static let message: UInt8 = 56
    public static let clientIdentifier: UInt8 = 61
    public static let end: UInt8 = 255

    /// The RFC 2132 name, for messages.
    public static func name(_ code: UInt8) -> String {
        switch code {
        case subnetMask: return "subnet mask"
        case router: return "router"
        case domainNameServer: return "domain name server"
        case hostName: return "host name"
        case requestedAddress: return "requested IP address"
        case leaseTime: return "IP address lease time"
        case overload: return "option overload"
        case messageType: return "DHCP message type"
        case serverIdentifier: return "server identifier"
        case parameterRequestList: return "parameter request list"
        case message: return "message"
        case clientIdentifier: return "client identifier"
        default: return "unknown"
        }
    }
}

/// DHCP message types (option 53, RFC 2132 §9.6).
public enum DHCPMessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case discover = 1, offer, request, decline, ack, nak, release, inform

    public var description: String {
        switch self {
        case .discover: return "DHCPDISCOVER"
        case .offer: return "DHCPOFFER"
        case .request: return "DHCPREQUEST"
        case .decline: return "DHCPDECLINE"
        case .ack: return "DHCPACK"
        case .nak: return "DHCPNAK"
        case .release: return "DHCPRELEASE"
        case .inform: return "DHCPINFORM"
        }
    }
}

/// A message's options in order, each code once: values of a code that came in several
/// pieces are joined (RFC 3396), and a value longer than 255 bytes is written in pieces.
public struct DHCPOptions: Sendable, Equatable {
    public private(set) var entries: [(code: UInt8, data: [UInt8])] = []

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.code == $1.code && $0.data == $1.data }
    }

    public subscript(code: UInt8) -> [UInt8]? {
        get { entries.first { $0.code == code }?.data }
        set {
            let index = entries.firstIndex { $0.code == code }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].data = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append((code, value))
            case (nil, nil): break
            }
        }
    }

    /// Appends `data` to the option (RFC 3396 concatenation of a repeated code).
    mutating func append(_ code: UInt8, _ data: ArraySlice<UInt8>) {
        if let index = entries.firstIndex(where: { $0.code == code }) {
            entries[index].data += data
        } else {
            entries.append((code, Array(data)))
        }
    }

    // MARK: Typed values (nil when absent; decoding has checked the lengths)

    public var messageType: DHCPMessageType? {
        self[DHCPOptionCode.messageType].flatMap {
            $0.count == 1 ? DHCPMessageType(rawValue: $0[0]) : nil
        }
    }
    public var subnetMask: IPv4Address? { address(DHCPOptionCode.subnetMask) }
    public var routers: [IPv4Address] { addresses(DHCPOptionCode.router) }
    public var domainNameServers: [IPv4Address] { addresses(DHCPOptionCode.domainNameServer) }
    public var hostName: String? {
        self[DHCPOptionCode.hostName].map { String(decoding: $0, as: UTF8.self) }
    }
    public var requestedAddress: IPv4Address? { address(DHCPOptionCode.requestedAddress) }
    public var serverIdentifier: IPv4Address? { address(DHCPOptionCode.serverIdentifier) }
    /// Seconds; `UInt32.max` means infinite (RFC 2132 §9.2).
    public var leaseTime: UInt32? {
        address(DHCPOptionCode.leaseTime)?.value
    }
    public var parameterRequestList: [UInt8] { self[DHCPOptionCode.parameterRequestList] ?? [] }
    public var clientIdentifier: [UInt8]? { self[DHCPOptionCode.clientIdentifier] }
    /// The server's text in a NAK (option 56).
    public var message: String? {
        self[DHCPOptionCode.message].map { String(decoding: $0, as: UTF8.self) }
    }

    private func address(_ code: UInt8) -> IPv4Address? {
        self[code].flatMap { IPv4Address(bytes: $0) }
    }

    private func addresses(_ code: UInt8) -> [IPv4Address] {
        guard let data = self[code], data.count % 4 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 4).compactMap {
            IPv4Address(bytes: data[$0..<$0 + 4])
        }
    }

    /// Checks the options RFC 2132 gives a fixed shape; the first violation is thrown.
    func validate() throws(DHCPDecodeError) {
        for (code, data) in entries {
            func bad(_ reason: String) -> DHCPDecodeError { .badOption(code: code, reason: reason) }
            switch code {
            case DHCPOptionCode.subnetMask, DHCPOptionCode.requestedAddress,
                DHCPOptionCode.leaseTime, DHCPOptionCode.serverIdentifier:
                if data.count != 4 { throw bad("length \(data.count), expected 4") }
                if code == DHCPOptionCode.subnetMask, IPv4Address(bytes: data)?.maskLength == nil {
                    throw bad("\(IPv4Address(bytes: data)!) is not a contiguous mask")
                }
            case DHCPOptionCode.router, DHCPOptionCode.domainNameServer:
                if data.isEmpty || data.count % 4 != 0 {
                    throw bad("length \(data.count), expected a non-zero multiple of 4")
                }
            case DHCPOptionCode.messageType:
                if data.count != 1 { throw bad("length \(data.count), expected 1") }
                if DHCPMessageType(rawValue: data[0]) == nil {
                    throw bad("unknown type \(data[0])")
                }
            case DHCPOptionCode.overload:
                if data.count != 1 || !(1...3).contains(data[0]) {
                    throw bad("expected one byte of 1, 2 or 3")
                }
            case DHCPOptionCode.hostName, DHCPOptionCode.parameterRequestList:
                if data.isEmpty { throw bad("empty") }
            case DHCPOptionCode.clientIdentifier:
                if data.count < 2 { throw bad("length \(data.count), expected at least 2") }
            default: break
            }
        }
    }
}
