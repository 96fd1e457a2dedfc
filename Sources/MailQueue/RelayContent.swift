import Glibc
import LinuxSystem

/// What a relay transaction sends: a message's stored form (LF or CRLF lines), in memory (a
/// bounce, a test) or in its spool file, read a piece at a time as it goes out, so that the
/// queue never holds a queued message whole (docs/RELAY.md, "Memory").
public struct RelayContent: Sendable, Equatable {
    /// Octets as sent, each bare LF and lone CR counted as the CRLF it becomes (RFC 1870's
    /// SIZE=).
    public let wireSize: Int
    /// Some byte has the high bit set (BODY=8BITMIME).
    public let eightBit: Bool
    let source: Source

    enum Source: Sendable, Equatable {
        case bytes([UInt8])
        case file(SpooledContent)
    }

    /// How much is read from a spool file at a time.
    static let piece = 64 << 10

    public init(_ bytes: [UInt8]) {
        var measure = ContentMeasure()
        measure.add(bytes[...])
        wireSize = measure.wireSize
        eightBit = measure.eightBit
        source = .bytes(bytes)
    }

    /// The content of a spool file, measured by reading it once.
    init(_ file: SpooledContent) throws(SystemError) {
        var measure = ContentMeasure()
        var offset = 0
        while offset < file.count {
            let bytes = try file.read(at: offset, count: min(Self.piece, file.count - offset))
            guard !bytes.isEmpty else { break }
            measure.add(bytes[...])
            offset += bytes.count
        }
        wireSize = measure.wireSize
        eightBit = measure.eightBit
        source = .file(file)
    }

    /// The content in order, a piece of at most `piece` bytes at a time; the first error
    /// `body` returns (a write that failed) stops it and is returned, as is a read error.
    func forEachPiece(_ body: (ArraySlice<UInt8>) -> String?) -> String? {
        switch source {
        case .bytes(let bytes):
            var offset = 0
            repeat {
                let end = min(offset + Self.piece, bytes.count)
                if let failure = body(bytes[offset..<end]) { return failure }
                offset = end
            } while offset < bytes.count
            return nil
        case .file(let file):
            var offset = 0
            while offset < file.count {
                let bytes: [UInt8]
                do {
                    bytes = try file.read(at: offset, count: min(Self.piece, file.count - offset))
                } catch {
                    return "\(error)"
                }
                guard !bytes.isEmpty else { return "\(file.path): shorter than it was" }
                if let failure = body(bytes[...]) { return failure }
                offset += bytes.count
            }
            return nil
        }
    }

    /// The whole content.
    func bytes() throws(SystemError) -> [UInt8] {
        switch source {
        case .bytes(let bytes): return bytes
        case .file(let file): return try file.all()
        }
    }
}

/// A queued message's content in its spool file: an open descriptor (the file may be
/// replaced meanwhile, by a rewrite of its envelope; what is read stays that of one file),
/// from `start`, `count` bytes.
public final class SpooledContent: Sendable, Equatable {
    let descriptor: Int32
    let start: Int
    let count: Int
    /// Names the file in errors.
    let path: String

    /// Takes `descriptor` (closed with this object).
    init(descriptor: Int32, start: Int, count: Int, path: String) {
        self.descriptor = descriptor
        self.start = start
        self.count = count
        self.path = path
    }

    deinit { closeDescriptor(descriptor) }

    func read(at offset: Int, count: Int) throws(SystemError) -> [UInt8] {
        try FileSystem.read(descriptor, at: start + offset, count: count, path: path)
    }

    /// The whole content (a bounce with RET=FULL quotes it).
    func all() throws(SystemError) -> [UInt8] { try read(at: 0, count: count) }

    public static func == (a: SpooledContent, b: SpooledContent) -> Bool { a === b }
}

/// SIZE= and 8-bit of content seen a piece at a time.
struct ContentMeasure {
    private var count = 0
    private var added = 0
    private var lastWasCR = false
    private(set) var eightBit = false

    mutating func add(_ piece: ArraySlice<UInt8>) {
        var high: UInt8 = 0
        for byte in piece {
            if byte == 10 {
                if !lastWasCR { added += 1 }
            } else if lastWasCR {
                added += 1  // the CR before was a lone one
            }
            high |= byte
            lastWasCR = byte == 13
        }
        if high >= 0x80 { eightBit = true }
        count += piece.count
    }

    var wireSize: Int { count + added + (lastWasCR ? 1 : 0) }
}
