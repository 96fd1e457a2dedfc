/// One header field of a message or MIME part.
public struct HeaderField: Sendable, Hashable {
    /// The name as written (compare with ``HeaderSection/first(_:)``, which ignores case).
    public var name: String
    /// The field as stored: name, colon, value and folds, without the final line end.
    public var raw: [UInt8]
    /// The value unfolded: each line end with the blanks after it becomes one space, leading
    /// and trailing blanks removed. Not decoded.
    public var unfoldedValue: [UInt8]

    public init(name: String, raw: [UInt8], unfoldedValue: [UInt8]) {
        self.name = name
        self.raw = raw
        self.unfoldedValue = unfoldedValue
    }

    /// The unfolded value with RFC 2047 encoded words decoded.
    public var value: String { EncodedWords.decode(unfoldedValue) }

    /// The unfolded value as text, encoded words left alone (for structured fields such as
    /// Content-Type, whose parameters are decoded one by one).
    public var plainValue: String { Charset.decodeUndeclared(unfoldedValue) }

    /// Builds a field from its stored lines (continuation lines start with SP or TAB).
    init?(lines: [ArraySlice<UInt8>], raw: [UInt8]) {
        guard let first = lines.first, let colon = first.firstIndex(of: UInt8(ascii: ":")) else {
            return nil
        }
        var nameBytes = first[..<colon]
        while let last = nameBytes.last, last == 0x20 || last == 0x09 { nameBytes.removeLast() }
        guard !nameBytes.isEmpty else { return nil }
        var value: [UInt8] = []
        for (number, line) in lines.enumerated() {
            var text = number == 0 ? first[(colon + 1)...] : line
            while let byte = text.first, byte == 0x20 || byte == 0x09 { text.removeFirst() }
            while let byte = text.last, byte == 0x20 || byte == 0x09 { text.removeLast() }
            if !value.isEmpty && !text.isEmpty { value.append(0x20) }
            value += text
        }
        self.init(
            name: String(decoding: nameBytes, as: UTF8.self), raw: raw, unfoldedValue: value)
    }
}

/// The header fields of a message or MIME part, in stored order.
public struct HeaderSection: Sendable, Hashable {
    public var fields: [HeaderField]

    public init(fields: [HeaderField]) { self.fields = fields }

    /// The first field called `name`, ignoring case.
    public func first(_ name: String) -> HeaderField? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }
    }

    /// The decoded value of the first field called `name`.
    public subscript(_ name: String) -> String? { first(name)?.value }
}
