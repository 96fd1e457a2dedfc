/// A session transcript: what one SMTP session carried, byte for byte, in order, with the
/// time of each piece, the side that sent it and the moment TLS began (docs/TRANSCRIPTS.md).
/// Pure: built by the server from the bytes it reads and writes, written and read back
/// through `TranscriptCodec`, turned into a chat script by `TranscriptChat`.
public struct SessionTranscript: Sendable, Equatable {
    /// `@ KEY VALUE` lines at the top (session, peer, listener, start), in order.
    public var metadata: [Metadata]
    public var records: [TranscriptRecord]

    public struct Metadata: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(metadata: [Metadata] = [], records: [TranscriptRecord] = []) {
        self.metadata = metadata
        self.records = records
    }

    /// The value of the first `@ key …` line.
    public func value(of key: String) -> String? { metadata.first { $0.key == key }?.value }

    /// Every byte `side` sent, joined (the chunks' boundaries dropped).
    public func bytes(from side: TranscriptSide) -> [UInt8] {
        var joined: [UInt8] = []
        for record in records {
            if case .data(side, let bytes) = record.entry { joined.append(contentsOf: bytes) }
        }
        return joined
    }
}

/// Who sent the bytes.
public enum TranscriptSide: Sendable, Equatable {
    case client, server

    var letter: UInt8 { self == .client ? UInt8(ascii: "C") : UInt8(ascii: "S") }
}

/// One line of a transcript's body.
public struct TranscriptRecord: Sendable, Equatable {
    /// Microseconds since the session began (the `@ start` time).
    public var microseconds: UInt64
    public var entry: TranscriptEntry
    /// Where the record was read from (1-based); 0 for a record built in memory.
    public var line: Int

    public init(microseconds: UInt64, entry: TranscriptEntry, line: Int = 0) {
        self.microseconds = microseconds
        self.entry = entry
        self.line = line
    }

    public static func == (a: TranscriptRecord, b: TranscriptRecord) -> Bool {
        a.microseconds == b.microseconds && a.entry == b.entry
    }
}

public enum TranscriptEntry: Sendable, Equatable {
    /// Bytes as they crossed the connection (after TLS: the plaintext).
    case data(TranscriptSide, [UInt8])
    /// The TLS handshake finished here: what follows was encrypted on the wire. The text is
    /// `PROTOCOL CIPHER BITS`.
    case tls(String)
    /// The side closed the connection (FIN).
    case closed(by: TranscriptSide)
    /// The server reset the connection (RST, fault injection).
    case reset
    /// The transcript reached its size limit: nothing after this point was recorded.
    case truncated
}
