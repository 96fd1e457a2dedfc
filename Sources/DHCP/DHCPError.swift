/// Why bytes are not a DHCP message (RFC 2131 §2, RFC 2132): each case names the field or
/// option and the offset, so a hostile or broken packet is reported, never trusted.
public enum DHCPDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes than the fixed header and the magic cookie (240).
    case tooShort(Int)
    /// `op` is neither BOOTREQUEST (1) nor BOOTREPLY (2).
    case badOperation(UInt8)
    /// `hlen` larger than the 16 bytes of `chaddr`.
    case badHardwareLength(UInt8)
    /// The 4 bytes after the header are not 99.130.83.99.
    case badMagicCookie([UInt8])
    /// An option's length byte or data runs past the end of its field.
    case truncatedOption(code: UInt8, offset: Int, field: String)
    /// A field's options end without the end option (255).
    case missingEnd(field: String)
    /// A known option whose length or value is not what RFC 2132 defines.
    case badOption(code: UInt8, reason: String)
    /// No option 53 (a BOOTP message, not DHCP).
    case missingMessageType

    public var description: String {
        switch self {
        case .tooShort(let count):
            return "DHCP message of \(count) bytes: at least 240 (header and magic cookie) needed"
        case .badOperation(let op): return "op \(op) is neither BOOTREQUEST (1) nor BOOTREPLY (2)"
        case .badHardwareLength(let length):
            return "hardware address length \(length) exceeds chaddr's 16 bytes"
        case .badMagicCookie(let bytes):
            return
                "magic cookie \(bytes.map(String.init).joined(separator: ".")), expected 99.130.83.99"
        case .truncatedOption(let code, let offset, let field):
            return "option \(code) at offset \(offset) of \(field) runs past its end"
        case .missingEnd(let field): return "\(field) ends without the end option (255)"
        case .badOption(let code, let reason):
            return "option \(code) (\(DHCPOptionCode.name(code))): \(reason)"
        case .missingMessageType: return "no DHCP message type (option 53): a BOOTP message"
        }
    }
}
