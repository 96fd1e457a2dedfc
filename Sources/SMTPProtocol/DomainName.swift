import Glibc

/// Domain validation of OpenSMTPD's `valid_domainpart` (util.c) with glibc's `res_hnok`,
/// used for HELO/EHLO arguments and address domains.
enum DomainName {
    /// An address literal `[IPv4]`, `[IPv6:…]` (or `[…]` holding either; nothing after `]`),
    /// or a host name that passes `res_hnok` and does not end with a dot.
    static func isValid<C: Collection>(_ domain: C, maxLength: Int = 255) -> Bool
    where C.Element == UInt8 {
        let bytes = Array(domain)
        if bytes.first == 0x5B {  // "["
            let inner = ASCII.hasPrefixIgnoringCase(bytes, "[IPv6:") ? bytes[6...] : bytes[1...]
            guard inner.count <= maxLength, let close = inner.firstIndex(of: 0x5D),
                close == inner.index(before: inner.endIndex)
            else { return false }
            return isAddressLiteral(inner[inner.startIndex..<close])
        }
        guard !bytes.isEmpty, bytes.count <= maxLength, bytes.last != ASCII.dot else {
            return false
        }
        return isHostName(bytes)
    }

    /// glibc `res_hnok` (2.34+): printable, wire form ≤ 255 bytes, labels 1…63 bytes of
    /// letters, digits, `-`, `_`; only the very first character may not be `-`.
    /// Departure: backslash escapes (which `ns_name_pton` would decode) are refused.
    static func isHostName(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, first != 0x2D else { return false }
        guard bytes.count + 2 <= 255 else { return false }
        var labelLength = 0
        for c in bytes {
            if c == ASCII.dot {
                guard labelLength > 0 else { return false }
                labelLength = 0
                continue
            }
            guard ASCII.isAlnum(c) || c == 0x2D || c == 0x5F else { return false }
            labelLength += 1
            guard labelLength <= 63 else { return false }
        }
        return labelLength > 0
    }

    /// `inet_pton(AF_INET6)` or `inet_pton(AF_INET)` accepts the text (glibc's strict forms).
    static func isAddressLiteral<C: Collection>(_ text: C) -> Bool where C.Element == UInt8 {
        guard !text.isEmpty, text.count < 64,
            text.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return false }
        let cString = Array(text) + [0]
        var buffer = (UInt64(0), UInt64(0))
        return cString.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { chars in
                withUnsafeMutableBytes(of: &buffer) { out in
                    inet_pton(AF_INET6, chars.baseAddress, out.baseAddress) == 1
                        || inet_pton(AF_INET, chars.baseAddress, out.baseAddress) == 1
                }
            }
        }
    }
}
