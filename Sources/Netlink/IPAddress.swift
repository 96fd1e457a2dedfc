import Glibc

/// An IPv4 or IPv6 address, stored in network byte order.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)  // host byte order, so that masks and comparisons read naturally
    case v6([UInt8])  // 16 bytes

    /// Parses dotted-quad IPv4 or textual IPv6 (`inet_pton`).
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    /// Builds an address from the raw bytes of a netlink attribute (4 or 16 bytes).
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(
                bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
        case 16: self = .v6(bytes)
        default: return nil
        }
    }

    /// `AF_INET` or `AF_INET6`.
    public var family: Int32 {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    public var isIPv4: Bool { if case .v4 = self { true } else { false } }

    /// Bit width: 32 or 128.
    public var bitWidth: Int { isIPv4 ? 32 : 128 }

    /// The address in network byte order, as netlink and `sockaddr` want it.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value): withUnsafeBytes(of: value.bigEndian) { Array($0) }
        case .v6(let bytes): bytes
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let raw = bytes
        _ = raw.withUnsafeBytes {
            inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count))
        }
        return String(
            decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Keeps the first `length` bits and clears the rest.
    public func masked(to length: Int) -> IPAddress {
        var raw = bytes
        for index in raw.indices {
            let bitsBefore = index * 8
            if bitsBefore >= length {
                raw[index] = 0
            } else if bitsBefore + 8 > length {
                raw[index] &= UInt8(truncatingIfNeeded: 0xFF << (8 - (length - bitsBefore)))
            }
        }
        return IPAddress(bytes: raw)!
    }
}

/// An address with a prefix length, as on an interface (`10.0.0.2/24`) or as a route
/// destination (`10.0.0.0/24`).
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: Int

    public init(address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// Parses `ADDRESS/LENGTH`; without `/LENGTH` the prefix is a host (32 or 128).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        var length = address.bitWidth
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...address.bitWidth).contains(parsed),
                parts[1].allSatisfy(\.isNumber)
            else { return nil }
            length = parsed
        }
        self.init(address: address, length: length)
    }

    /// The network this prefix lies in (host bits cleared).
    public var network: IPPrefix { IPPrefix(address: address.masked(to: length), length: length) }

    /// True if `other` lies inside this prefix (same family, same network bits).
    public func contains(_ other: IPAddress) -> Bool {
        other.family == address.family && other.masked(to: length) == address.masked(to: length)
    }

    /// True if the two prefixes share any address.
    public func overlaps(_ other: IPPrefix) -> Bool {
        guard other.address.family == address.family else { return false }
        let shorter = min(length, other.length)
        return address.masked(to: shorter) == other.address.masked(to: shorter)
    }

    public var description: String { "\(address)/\(length)" }
}
