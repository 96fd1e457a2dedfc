/// An IPv4 address as DHCP carries it, in host byte order (as Netlink's `IPAddress.v4`), so
/// that masks read naturally. Pure: parsing and printing without `inet_pton`.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// `0.0.0.0`, the address of a client that has none yet.
    public static let any = IPv4Address(0)
    /// `255.255.255.255`, the limited broadcast a client without an address sends to.
    public static let broadcast = IPv4Address(0xFFFF_FFFF)

    /// Dotted quad, exactly four decimal parts of 0…255 without leading zeros.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII),
                part == "0" || !part.hasPrefix("0"), let byte = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(byte)
        }
        self.value = value
    }

    /// From 4 bytes in network order.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The 4 bytes in network order.
    public var bytes: [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// The prefix length of a subnet mask, nil if its ones are not contiguous.
    public var maskLength: Int? {
        let length = value.leadingZeroBitCount == 0 ? (~value).leadingZeroBitCount : 0
        let rebuilt: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - length)
        return rebuilt == value ? length : nil
    }
}
