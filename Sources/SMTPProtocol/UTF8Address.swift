/// The UTF-8 rules of SMTPUTF8 addresses (RFC 6531 §3.3, RFC 6532 §3.2): `UTF8-non-ascii`
/// may stand wherever an atom character or a domain label character may. Only well-formed
/// UTF-8 (RFC 3629) counts: no overlong forms, no surrogates, nothing above U+10FFFF, no
/// truncated sequence. Code points that can disguise an address are refused as well: the C1
/// controls (U+0080–U+009F), the bidirectional controls (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069), the zero-width and byte-order marks (U+200B–U+200D,
/// U+2060, U+FEFF) and the noncharacters U+FFFE/U+FFFF. MailLab applies no NFC check
/// (RFC 6532 §3.1 only recommends normalization).
enum UTF8Address {
    /// The scalar values of `bytes` if they are well-formed UTF-8, else nil.
    static func scalars<C: Collection>(_ bytes: C) -> [UInt32]? where C.Element == UInt8 {
        var result: [UInt32] = []
        var iterator = bytes.makeIterator()
        while let lead = iterator.next() {
            let count: Int
            var value: UInt32
            switch lead {
            case 0x00...0x7F:
                result.append(UInt32(lead))
                continue
            case 0xC2...0xDF: (count, value) = (1, UInt32(lead & 0x1F))
            case 0xE0...0xEF: (count, value) = (2, UInt32(lead & 0x0F))
            case 0xF0...0xF4: (count, value) = (3, UInt32(lead & 0x07))
            default: return nil  // continuation byte, C0/C1 overlong leads, F5…FF
            }
            for _ in 0..<count {
                guard let next = iterator.next(), next & 0xC0 == 0x80 else { return nil }
                value = value << 6 | UInt32(next & 0x3F)
            }
            // Shortest form only, no surrogates, at most U+10FFFF.
            let minimum: UInt32 = count == 1 ? 0x80 : count == 2 ? 0x800 : 0x10000
            guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
                return nil
            }
            result.append(value)
        }
        return result
    }

    /// A non-ASCII code point allowed in an address.
    static func isAllowedNonASCII(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x80...0x9F, 0x061C, 0x200B...0x200F, 0x202A...0x202E, 0x2060, 0x2066...0x2069,
            0xFEFF, 0xFFFE, 0xFFFF:
            return false
        default:
            return scalar >= 0x80
        }
    }

    /// A dot-atom local part whose atoms may hold allowed non-ASCII characters.
    static func isLocalPart<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        guard let scalars = scalars(bytes) else { return false }
        var atomLength = 0
        for scalar in scalars {
            if scalar == UInt32(ASCII.dot) {
                guard atomLength > 0 else { return false }
                atomLength = 0
            } else if scalar < 0x80
                ? AddressParser.isAtomText(UInt8(scalar))
                : isAllowedNonASCII(scalar)
            {
                atomLength += 1
            } else {
                return false
            }
        }
        return atomLength > 0
    }

    /// A domain of labels (1…63 bytes each, no leading `-` on the first, none empty, no
    /// final dot) of letters, digits, `-`, `_` and allowed non-ASCII characters (U-labels);
    /// address literals stay ASCII (`DomainName`). MailLab does not check IDNA2008 itself.
    static func isDomain<C: Collection>(_ bytes: C, maxLength: Int) -> Bool
    where C.Element == UInt8 {
        let array = Array(bytes)
        guard !array.isEmpty, array.count <= maxLength, array.last != ASCII.dot,
            array.first != 0x2D, let scalars = scalars(array)
        else { return false }
        var labelBytes = 0
        for scalar in scalars {
            if scalar == UInt32(ASCII.dot) {
                guard labelBytes > 0 else { return false }
                labelBytes = 0
                continue
            }
            if scalar < 0x80 {
                let c = UInt8(scalar)
                guard ASCII.isAlnum(c) || c == 0x2D || c == 0x5F else { return false }
            } else {
                guard isAllowedNonASCII(scalar) else { return false }
            }
            labelBytes += scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4
            guard labelBytes <= 63 else { return false }
        }
        return labelBytes > 0
    }
}
