/// A resource record type (RFC 1035 §3.2.2, RFC 3596 for AAAA); unknown types are kept by
/// number.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)

    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The response code of a message (RFC 1035 §4.1.1).
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist (authoritative).
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The class IN, the only one this client asks for.
public let dnsClassInternet: UInt16 = 1

/// The fixed 12-byte header of a message (RFC 1035 §4.1.1), counts aside.
public struct DNSHeader: Sendable, Hashable {
    public var id: UInt16
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var isAuthoritative = false
    /// TC: the answer did not fit (UDP's 512 bytes): ask again over TCP (RFC 7766).
    public var isTruncated = false
    public var recursionDesired = true
    public var recursionAvailable = false
    public var responseCode = DNSResponseCode.noError

    public init(id: UInt16) { self.id = id }
}

public struct DNSQuestion: Sendable, Hashable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: UInt16 = dnsClassInternet

    public init(name: DNSName, type: DNSRecordType) {
        self.name = name
        self.type = type
    }
}

/// The data of a record, decoded for the types a mail client uses.
public enum DNSRecordData: Sendable, Hashable {
    /// Four bytes.
    case a([UInt8])
    /// Sixteen bytes.
    case aaaa([UInt8])
    case cname(DNSName)
    case ns(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    /// Any other type, undecoded (names inside it may be compressed: not followed).
    case other([UInt8])
}

public struct DNSRecord: Sendable, Hashable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: UInt16 = dnsClassInternet
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.ttl = ttl
        self.data = data
        switch data {
        case .a: type = .a
        case .aaaa: type = .aaaa
        case .cname: type = .cname
        case .ns: type = .ns
        case .mx: type = .mx
        case .other: type = DNSRecordType(rawValue: 0)
        }
    }

    /// A record of a type this codec does not decode.
    public init(name: DNSName, type: DNSRecordType, ttl: UInt32, data: [UInt8]) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.data = .other(data)
    }
}

/// A whole DNS message (RFC 1035 §4): header, question, answer, authority and additional
/// sections. `encode()` and `DNSMessage(decoding:)` are pure: bytes in, bytes out.
public struct DNSMessage: Sendable, Hashable {
    public var header: DNSHeader
    public var questions: [DNSQuestion] = []
    public var answers: [DNSRecord] = []
    public var authorities: [DNSRecord] = []
    public var additionals: [DNSRecord] = []

    public init(header: DNSHeader) { self.header = header }

    /// A standard query for one name and type with recursion desired, as `res_mkquery(3)`
    /// builds it.
    public static func query(id: UInt16, name: DNSName, type: DNSRecordType) -> DNSMessage {
        var message = DNSMessage(header: DNSHeader(id: id))
        message.questions = [DNSQuestion(name: name, type: type)]
        return message
    }
}
