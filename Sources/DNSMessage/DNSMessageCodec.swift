/// Why bytes are not a DNS message, with the offset where decoding stopped.
public struct DNSDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The message ends inside a field (a count promises more than there is).
        case truncated
        /// A compression pointer that does not point strictly backwards (a loop or a
        /// forward reference), or more pointers than a name could ever need.
        case badPointer
        /// A label type other than a length (0b00) or a pointer (0b11): RFC 6891 retired 0b01.
        case badLabelType
        /// A name over 255 bytes once its pointers are followed.
        case nameTooLong
        /// A record whose data does not match its type (an A that is not 4 bytes, an MX whose
        /// name runs past its RDLENGTH).
        case badRecordData(DNSRecordType)
        /// Bytes after the last record the counts announce.
        case trailingBytes
    }

    public var reason: Reason
    public var offset: Int

    public init(reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .truncated: what = "message ends inside a field"
        case .badPointer: what = "compression pointer does not point backwards"
        case .badLabelType: what = "unknown label type"
        case .nameTooLong: what = "name longer than 255 bytes"
        case .badRecordData(let type): what = "malformed \(type) record data"
        case .trailingBytes: what = "bytes after the last record"
        }
        return "malformed DNS message at byte \(offset): \(what)"
    }
}

extension DNSMessage {
    /// Decodes a whole message. Every length and count is checked against the bytes there
    /// are; compression pointers must point before the name that uses them (RFC 1035 §4.1.4
    /// only ever needs that), so a pointer loop is impossible and following a name costs at
    /// most as many steps as the message has bytes.
    public init(decoding bytes: [UInt8]) throws(DNSDecodeError) {
        var reader = Reader(bytes: bytes)
        var header = DNSHeader(id: try reader.u16())
        let flags = try reader.u16()
        header.isResponse = flags & 0x8000 != 0
        header.opcode = UInt8((flags >> 11) & 0x0F)
        header.isAuthoritative = flags & 0x0400 != 0
        header.isTruncated = flags & 0x0200 != 0
        header.recursionDesired = flags & 0x0100 != 0
        header.recursionAvailable = flags & 0x0080 != 0
        header.responseCode = DNSResponseCode(rawValue: UInt8(flags & 0x000F))
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        self.init(header: header)
        for _ in 0..<counts[0] {
            var question = DNSQuestion(name: try reader.name(), type: DNSRecordType(rawValue: 0))
            question.type = DNSRecordType(rawValue: try reader.u16())
            question.recordClass = try reader.u16()
            questions.append(question)
        }
        for _ in 0..<counts[1] { answers.append(try reader.record()) }
        for _ in 0..<counts[2] { authorities.append(try reader.record()) }
        for _ in 0..<counts[3] { additionals.append(try reader.record()) }
        // A truncated answer may legitimately stop early; a complete one must end here.
        if reader.offset != bytes.count && !header.isTruncated {
            throw DNSDecodeError(reason: .trailingBytes, offset: reader.offset)
        }
    }

    /// The message on the wire, names compressed against earlier ones (RFC 1035 §4.1.4).
    /// Sections beyond 65535 entries cannot be encoded: the caller builds messages.
    public func encode() -> [UInt8] {
        var writer = Writer()
        writer.u16(header.id)
        var flags: UInt16 = UInt16(header.opcode & 0x0F) << 11
        if header.isResponse { flags |= 0x8000 }
        if header.isAuthoritative { flags |= 0x0400 }
        if header.isTruncated { flags |= 0x0200 }
        if header.recursionDesired { flags |= 0x0100 }
        if header.recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(header.responseCode.rawValue)
        writer.u16(flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            writer.u16(UInt16(truncatingIfNeeded: count))
        }
        for question in questions {
            writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.recordClass)
        }
        for record in answers + authorities + additionals { writer.record(record) }
        return writer.bytes
    }
}

private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    func error(_ reason: DNSDecodeError.Reason, at offset: Int? = nil) -> DNSDecodeError {
        DNSDecodeError(reason: reason, offset: offset ?? self.offset)
    }

    mutating func u8() throws(DNSDecodeError) -> UInt8 {
        guard offset < bytes.count else { throw error(.truncated) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSDecodeError) -> UInt16 {
        UInt16(try u8()) << 8 | UInt16(try u8())
    }

    mutating func u32() throws(DNSDecodeError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ count: Int) throws(DNSDecodeError) -> [UInt8] {
        guard count <= bytes.count - offset else { throw error(.truncated) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A name at the current offset; the offset moves past it (past the first pointer, if
    /// any). Each pointer must point before the position it was read at, so the walk only
    /// ever moves backwards and ends.
    mutating func name() throws(DNSDecodeError) -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var resume: Int? = nil
        // Where the name being followed started: a pointer must point before it.
        var boundary = offset
        while true {
            guard position < bytes.count else { throw error(.truncated, at: position) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    offset = resume ?? position + 1
                    return DNSName(validatedLabels: labels)
                }
                let start = position + 1
                let end = start + Int(length)
                guard end <= bytes.count else { throw error(.truncated, at: position) }
                wireLength += 1 + Int(length)
                guard wireLength <= DNSName.maximumWireLength else {
                    throw error(.nameTooLong, at: position)
                }
                labels.append(Array(bytes[start..<end]))
                position = end
            case 0xC0:
                guard position + 1 < bytes.count else { throw error(.truncated, at: position) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < boundary else { throw error(.badPointer, at: position) }
                if resume == nil { resume = position + 2 }
                boundary = target
                position = target
            default:
                throw error(.badLabelType, at: position)
            }
        }
    }

    mutating func record() throws(DNSDecodeError) -> DNSRecord {
        let name = try name()
        let type = DNSRecordType(rawValue: try u16())
        let recordClass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let start = offset
        guard length <= bytes.count - start else { throw error(.truncated) }
        let end = start + length
        func bad() -> DNSDecodeError { DNSDecodeError(reason: .badRecordData(type), offset: start) }
        let data: DNSRecordData
        switch type {
        case .a:
            guard length == 4 else { throw bad() }
            data = .a(try take(4))
        case .aaaa:
            guard length == 16 else { throw bad() }
            data = .aaaa(try take(16))
        case .cname, .ns, .mx:
            // The name inside may be compressed, but must end within RDLENGTH.
            var preference: UInt16 = 0
            if type == .mx {
                guard length >= 3 else { throw bad() }
                preference = try u16()
            }
            let target: DNSName
            do {
                target = try self.name()
            } catch {
                throw error.reason == .truncated ? bad() : error
            }
            guard offset == end else { throw bad() }
            switch type {
            case .cname: data = .cname(target)
            case .ns: data = .ns(target)
            default: data = .mx(preference: preference, exchange: target)
            }
        default:
            data = .other(try take(length))
        }
        var record = DNSRecord(name: name, ttl: ttl, data: data)
        record.type = type
        record.recordClass = recordClass
        return record
    }
}

private struct Writer {
    var bytes: [UInt8] = []
    /// Offsets of name suffixes already written (lower case), for compression.
    var suffixes: [[[UInt8]]: Int] = [:]

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xFFFF))
    }

    mutating func name(_ name: DNSName) {
        let lower = name.lowercased.labels
        for index in lower.indices {
            let suffix = Array(lower[index...])
            if let earlier = suffixes[suffix] {
                u16(0xC000 | UInt16(earlier))
                return
            }
            // Pointers have 14 bits: later names cannot point past 16 KiB.
            if bytes.count < 0x4000 { suffixes[suffix] = bytes.count }
            bytes.append(UInt8(name.labels[index].count))
            bytes += name.labels[index]
        }
        bytes.append(0)
    }

    mutating func record(_ record: DNSRecord) {
        name(record.name)
        u16(record.type.rawValue)
        u16(record.recordClass)
        u32(record.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch record.data {
        case .a(let address), .aaaa(let address): bytes += address
        case .cname(let target), .ns(let target): name(target)
        case .mx(let preference, let exchange):
            u16(preference)
            name(exchange)
        case .other(let data): bytes += data
        }
        let length = bytes.count - lengthAt - 2
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}
