/// The PROXY protocol version 2 header a load balancer sends before the client's first byte
/// (haproxy's proxy-protocol.txt §2.2), read as OpenSMTPD 6.8's proxy.c does for
/// `listen … proxy-v2`: 16 bytes (signature, version and command, family, length), the
/// address block, then TLVs, which are skipped. Pure: bytes in, a verdict out.
public struct ProxyHeader: Equatable, Sendable {
    /// Where the client really is; nil for the LOCAL command (a health check of the proxy
    /// itself: the connection's own address stands).
    public var source: Source?
    /// Bytes the header took; what follows belongs to the SMTP session.
    public var length: Int

    public enum Source: Equatable, Sendable {
        case inet(address: [UInt8], port: UInt16)
        case inet6(address: [UInt8], port: UInt16)
        /// A unix-domain client (shown as `local`, as OpenSMTPD's `sa_to_text`).
        case unix(path: [UInt8])
    }

    /// Why a header is refused (OpenSMTPD's `proxy_error` reasons); the connection is closed
    /// without a banner.
    public enum Failure: Error, Equatable, Sendable {
        case invalidSignature
        case invalidVersion
        case unsupportedAddressFamily
        case addressInfoTooShort
        case unknownCommand
        case unspecifiedFamilyForProxy

        /// `reason="protocol error (invalid signature)"`, as proxy.c logs it.
        public var reason: String {
            switch self {
            case .invalidSignature: "protocol error (invalid signature)"
            case .invalidVersion: "protocol error (invalid version)"
            case .unsupportedAddressFamily: "protocol error (unsupported address family)"
            case .addressInfoTooShort: "protocol error (address info too short)"
            case .unknownCommand: "protocol error (unknown command)"
            case .unspecifiedFamilyForProxy:
                "address translation (UNSPEC family not supported for PROXYing)"
            }
        }
    }

    static let signature: [UInt8] = [
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
    ]
    /// Signature, version/command, family, length.
    static let fixedLength = 16
    /// The longest header: the fixed part and a 16-bit length.
    public static let maximumLength = fixedLength + 0xFFFF

    /// The header at the start of `bytes`: nil while more bytes are needed (at most
    /// `maximumLength` in all), the header once whole, or why it is refused — as soon as the
    /// bytes seen decide it (a wrong signature byte is refused at once).
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> ProxyHeader? {
        for (index, byte) in bytes.prefix(signature.count).enumerated()
        where byte != signature[index] {
            throw .invalidSignature
        }
        guard bytes.count >= fixedLength else { return nil }
        let versionCommand = bytes[12]
        let family = bytes[13]
        guard versionCommand >> 4 == 2 else { throw .invalidVersion }
        let addressLength: Int
        switch family {
        case 0x00: addressLength = 0
        case 0x11: addressLength = 12
        case 0x21: addressLength = 36
        case 0x31: addressLength = 216
        default: throw .unsupportedAddressFamily
        }
        let total = fixedLength + Int(bytes[14]) << 8 + Int(bytes[15])
        guard total >= fixedLength + addressLength else { throw .addressInfoTooShort }
        guard bytes.count >= total else { return nil }
        let block = bytes[fixedLength..<(fixedLength + addressLength)]
        switch versionCommand & 0x0F {
        case 0x0:
            return ProxyHeader(source: nil, length: total)
        case 0x1:
            let base = block.startIndex
            let source: Source
            switch family {
            case 0x11:
                source = .inet(
                    address: Array(block[base..<(base + 4)]),
                    port: UInt16(block[base + 8]) << 8 | UInt16(block[base + 9]))
            case 0x21:
                source = .inet6(
                    address: Array(block[base..<(base + 16)]),
                    port: UInt16(block[base + 32]) << 8 | UInt16(block[base + 33]))
            case 0x31:
                source = .unix(path: Array(block[base..<(base + 108)].prefix { $0 != 0 }))
            default:
                throw .unspecifiedFamilyForProxy
            }
            return ProxyHeader(source: source, length: total)
        default:
            throw .unknownCommand
        }
    }
}
