/// A validated envelope address: dot-atom local part and a host name or address literal.
/// Only ASCII, as accepted by `AddressParser`.
public struct MailAddress: Hashable, Sendable, CustomStringConvertible {
    public var localPart: String
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// `local@domain`
    public var description: String { "\(localPart)@\(domain)" }
}

/// The MAIL FROM path: `<>` (bounces) or an address.
public enum ReversePath: Hashable, Sendable, CustomStringConvertible {
    case null
    case address(MailAddress)

    /// `local@domain`, or the empty string for `<>`.
    public var description: String {
        switch self {
        case .null: return ""
        case .address(let address): return address.description
        }
    }
}
