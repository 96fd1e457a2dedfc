/// The records between smtpd's network side (the child, `_maillab`) and its delivery side
/// (the root parent) over their SOCK_SEQPACKET pair (docs/PRIVILEGES.md, "The process
/// split"). Pure: bytes in, records out. One record is one packet of at most `maximumBytes`:
/// a version byte, a type byte, a transaction id (8 bytes, big-endian, chosen by the child),
/// then the type's fields; strings and byte fields are a 2-byte length and the bytes. Every
/// malformed packet is a `SplitWireError`, never a trap: the parent reads what a compromised
/// child may send.
enum SplitRecord: Sendable, Equatable {
    /// child → parent: open the files of a transaction, routed again by the parent.
    case begin(id: UInt64, sender: SplitAddress?, recipients: [SplitRecipient])
    /// parent → child: the files are open; `files` descriptors ride on this packet, and
    /// with `more` further OPENED packets follow (one carries at most 253).
    case opened(id: UInt64, files: Int, more: Bool)
    /// parent → child: BEGIN or COMMIT failed, as the store step's error says it (the child
    /// maps it to a reply with `DeliveryFailure(storing:)`, as one process does).
    case failed(id: UInt64, operation: String, object: String, errno: Int32)
    /// child → parent: `contentBytes` written after each file's prefix; make it durable.
    case commit(id: UInt64, contentBytes: UInt64)
    /// parent → child: durable (after the flush of new/); the files' paths in new/.
    case committed(id: UInt64, paths: [String])
    /// child → parent: drop the transaction, nothing of it stays in tmp/.
    case abort(id: UInt64)
    /// child → parent: a short message whole (routed as BEGIN's recipients), to store and
    /// make durable in one step; answered COMMITTED or FAILED. One round trip, no files
    /// passed: what a message taken whole by its session costs.
    case deliver(
        id: UInt64, sender: SplitAddress?, recipients: [SplitRecipient], content: [UInt8])
    /// child → parent: check system-user credentials (the shadow file needs root).
    case auth(id: UInt64, user: [UInt8], password: [UInt8])
    /// parent → child: the answer to AUTH.
    case authed(id: UInt64, result: SplitAuthResult)
    /// parent → child: new fault rules (SIGHUP re-read the file; the child may not read it),
    /// as `fault …` statements.
    case faults(text: String)
    /// child → parent: create the transcript file `name` in the parent's transcript
    /// directory (the child may not search it); answered OPENED with one write-only
    /// descriptor, or FAILED. A name, never a path: the parent checks its shape.
    case transcript(id: UInt64, name: String)

    /// Raised when an existing record's layout changes; a new type keeps it (an older
    /// reader refuses it as `unknownType`, as it should).
    static let version: UInt8 = 1
    /// One packet at most: what either side receives with. Room for a message taken whole
    /// (up to `SessionHandler.streamOpening` and what one read adds) with its envelope in
    /// one DELIVER: a longer one goes by BEGIN and descriptors, two round trips more.
    static let maximumBytes = 256 << 10
}

/// A mail address on the wire: the parts the router needs, no parsing on the other side.
struct SplitAddress: Sendable, Equatable {
    var localPart: String
    var domain: String
}

/// A recipient as the child accepted it: the address, the form for `Delivered-To:`, and the
/// action the child's router chose (the parent routes it again through that action).
struct SplitRecipient: Sendable, Equatable {
    var address: SplitAddress
    var original: String
    var action: String
}

enum SplitAuthResult: UInt8, Sendable, Equatable {
    case rejected = 0
    case accepted = 1
    case temporaryFailure = 2
}

/// Why a packet is not a record: what was wrong and where.
enum SplitWireError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case tooLong(bytes: Int)
    case unknownVersion(UInt8)
    case unknownType(UInt8)
    /// The packet ended inside `field`.
    case truncated(field: String)
    case invalidUTF8(field: String)
    /// A value no record of the type can have (a result byte out of range, an id 0).
    case invalidValue(field: String)
    case trailingBytes(count: Int)
    /// A string field longer than a length prefix can say (encoding side).
    case fieldTooLong(field: String, bytes: Int)

    var description: String {
        switch self {
        case .empty: "empty record"
        case .tooLong(let bytes): "record of \(bytes) bytes (at most \(SplitRecord.maximumBytes))"
        case .unknownVersion(let version):
            "record version \(version) (expected \(SplitRecord.version))"
        case .unknownType(let type): "unknown record type \(type)"
        case .truncated(let field): "record ends inside \(field)"
        case .invalidUTF8(let field): "\(field) is not UTF-8"
        case .invalidValue(let field): "invalid \(field)"
        case .trailingBytes(let count): "\(count) bytes after the record"
        case .fieldTooLong(let field, let bytes): "\(field) of \(bytes) bytes does not fit a record"
        }
    }
}

extension SplitRecord {
    private enum Kind: UInt8 {
        case begin = 1, opened, failed, commit, committed, abort, auth, authed, faults, deliver
        case transcript
    }

    var id: UInt64 {
        switch self {
        case .begin(let id, _, _), .opened(let id, _, _), .failed(let id, _, _, _),
            .commit(let id, _), .committed(let id, _), .abort(let id), .auth(let id, _, _),
            .authed(let id, _), .deliver(let id, _, _, _), .transcript(let id, _):
            id
        case .faults: 0
        }
    }

    private var kind: Kind {
        switch self {
        case .begin: .begin
        case .opened: .opened
        case .failed: .failed
        case .commit: .commit
        case .committed: .committed
        case .abort: .abort
        case .auth: .auth
        case .authed: .authed
        case .faults: .faults
        case .deliver: .deliver
        case .transcript: .transcript
        }
    }

    /// The packet; throws when a field or the whole does not fit.
    func encoded() throws(SplitWireError) -> [UInt8] {
        var out = WireWriter()
        out.bytes.reserveCapacity(64)
        out.bytes.append(Self.version)
        out.bytes.append(kind.rawValue)
        out.integer(id, size: 8)
        switch self {
        case .begin(_, let sender, let recipients), .deliver(_, let sender, let recipients, _):
            if let sender {
                out.bytes.append(1)
                try out.string(sender.localPart, "sender local part")
                try out.string(sender.domain, "sender domain")
            } else {
                out.bytes.append(0)
            }
            guard recipients.count <= 0xFFFF else {
                throw .fieldTooLong(field: "recipient count", bytes: recipients.count)
            }
            out.integer(UInt64(recipients.count), size: 2)
            for recipient in recipients {
                try out.string(recipient.address.localPart, "recipient local part")
                try out.string(recipient.address.domain, "recipient domain")
                try out.string(recipient.original, "recipient original")
                try out.string(recipient.action, "recipient action")
            }
            if case .deliver(_, _, _, let content) = self {
                guard content.count <= Self.maximumBytes else {
                    throw .fieldTooLong(field: "content", bytes: content.count)
                }
                out.integer(UInt64(content.count), size: 4)
                out.bytes.append(contentsOf: content)
            }
        case .opened(_, let files, let more):
            guard (0...0xFFFF).contains(files) else {
                throw .fieldTooLong(field: "file count", bytes: files)
            }
            out.integer(UInt64(files), size: 2)
            out.bytes.append(more ? 1 : 0)
        case .failed(_, let operation, let object, let errno):
            try out.string(operation, "operation")
            try out.string(object, "object")
            out.integer(UInt64(UInt32(bitPattern: errno)), size: 4)
        case .commit(_, let contentBytes):
            out.integer(contentBytes, size: 8)
        case .committed(_, let paths):
            guard paths.count <= 0xFFFF else {
                throw .fieldTooLong(field: "path count", bytes: paths.count)
            }
            out.integer(UInt64(paths.count), size: 2)
            for path in paths { try out.string(path, "path") }
        case .abort:
            break
        case .auth(_, let user, let password):
            try out.field(user, "user")
            try out.field(password, "password")
        case .authed(_, let result):
            out.bytes.append(result.rawValue)
        case .faults(let text):
            try out.string(text, "fault text")
        case .transcript(_, let name):
            try out.string(name, "transcript name")
        }
        guard out.bytes.count <= Self.maximumBytes else { throw .tooLong(bytes: out.bytes.count) }
        return out.bytes
    }

    /// The record a packet holds, or what is wrong with it.
    init(decoding packet: [UInt8]) throws(SplitWireError) {
        guard !packet.isEmpty else { throw .empty }
        guard packet.count <= Self.maximumBytes else { throw .tooLong(bytes: packet.count) }
        var input = WireReader(bytes: packet)
        let version = try input.byte("version")
        guard version == Self.version else { throw .unknownVersion(version) }
        let type = try input.byte("type")
        guard let kind = Kind(rawValue: type) else { throw .unknownType(type) }
        let id = try input.integer(size: 8, "transaction id")
        // Id 0 is the FAULTS notice's; a transaction never has it.
        guard (kind == .faults) == (id == 0) else { throw .invalidValue(field: "transaction id") }
        switch kind {
        case .begin, .deliver:
            let flag = try input.byte("sender flag")
            var sender: SplitAddress?
            switch flag {
            case 0: sender = nil
            case 1:
                sender = SplitAddress(
                    localPart: try input.string("sender local part"),
                    domain: try input.string("sender domain"))
            default: throw .invalidValue(field: "sender flag")
            }
            let count = Int(try input.integer(size: 2, "recipient count"))
            var recipients: [SplitRecipient] = []
            recipients.reserveCapacity(min(count, 256))
            for _ in 0..<count {
                let local = try input.string("recipient local part")
                let domain = try input.string("recipient domain")
                let original = try input.string("recipient original")
                let action = try input.string("recipient action")
                recipients.append(
                    SplitRecipient(
                        address: SplitAddress(localPart: local, domain: domain),
                        original: original, action: action))
            }
            if kind == .deliver {
                let count = Int(try input.integer(size: 4, "content length"))
                guard packet.count - input.offset >= count else {
                    throw .truncated(field: "content")
                }
                let content = Array(packet[input.offset..<(input.offset + count)])
                input.offset += count
                self = .deliver(id: id, sender: sender, recipients: recipients, content: content)
            } else {
                self = .begin(id: id, sender: sender, recipients: recipients)
            }
        case .opened:
            let files = Int(try input.integer(size: 2, "file count"))
            let more = try input.byte("more flag")
            guard more <= 1 else { throw .invalidValue(field: "more flag") }
            self = .opened(id: id, files: files, more: more == 1)
        case .failed:
            let operation = try input.string("operation")
            let object = try input.string("object")
            let errno = Int32(bitPattern: UInt32(try input.integer(size: 4, "errno")))
            self = .failed(id: id, operation: operation, object: object, errno: errno)
        case .commit:
            self = .commit(id: id, contentBytes: try input.integer(size: 8, "content size"))
        case .committed:
            let count = Int(try input.integer(size: 2, "path count"))
            var paths: [String] = []
            for _ in 0..<count { paths.append(try input.string("path")) }
            self = .committed(id: id, paths: paths)
        case .abort:
            self = .abort(id: id)
        case .auth:
            self = .auth(
                id: id, user: try input.field("user"), password: try input.field("password"))
        case .authed:
            guard let result = SplitAuthResult(rawValue: try input.byte("auth result")) else {
                throw .invalidValue(field: "auth result")
            }
            self = .authed(id: id, result: result)
        case .faults:
            self = .faults(text: try input.string("fault text"))
        case .transcript:
            self = .transcript(id: id, name: try input.string("transcript name"))
        }
        guard input.offset == packet.count else {
            throw .trailingBytes(count: packet.count - input.offset)
        }
    }
}

private struct WireWriter {
    var bytes: [UInt8] = []

    mutating func integer(_ value: UInt64, size: Int) {
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func field(_ value: [UInt8], _ name: String) throws(SplitWireError) {
        guard value.count <= 0xFFFF else { throw .fieldTooLong(field: name, bytes: value.count) }
        integer(UInt64(value.count), size: 2)
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String, _ name: String) throws(SplitWireError) {
        let count = value.utf8.count
        guard count <= 0xFFFF else { throw .fieldTooLong(field: name, bytes: count) }
        integer(UInt64(count), size: 2)
        bytes.append(contentsOf: value.utf8)
    }
}

private struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func byte(_ name: String) throws(SplitWireError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(field: name) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func integer(size: Int, _ name: String) throws(SplitWireError) -> UInt64 {
        guard bytes.count - offset >= size else { throw .truncated(field: name) }
        var value: UInt64 = 0
        for index in offset..<(offset + size) { value = value << 8 | UInt64(bytes[index]) }
        offset += size
        return value
    }

    mutating func field(_ name: String) throws(SplitWireError) -> [UInt8] {
        let count = Int(try integer(size: 2, name + " length"))
        guard bytes.count - offset >= count else { throw .truncated(field: name) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func string(_ name: String) throws(SplitWireError) -> String {
        let raw = try field(name)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw .invalidUTF8(field: name)
        }
        return text
    }
}
