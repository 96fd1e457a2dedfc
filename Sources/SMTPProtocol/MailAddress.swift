/// A validated envelope address: dot-atom local part and a host name or address literal.
/// Only ASCII, as accepted by `AddressParser`.
public struct MailAddress: Hashable, Sendable, CustomStringConvertible {
    public var localPart: String
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// `local@domain`. Written in place: it goes into several log lines and a header of
    /// every message.
    public var description: String {
        let local = localPart.utf8
        let host = domain.utf8
        return String(unsafeUninitializedCapacity: local.count + 1 + host.count) { buffer in
            var end = buffer.initialize(from: local).1
            buffer[end] = UInt8(ascii: "@")
            end += 1
            end += UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(from: host).1
            return end
        }
    }
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
