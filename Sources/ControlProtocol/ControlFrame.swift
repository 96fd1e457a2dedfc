/// The control socket's framing: every request and every response is one frame, a 4-byte
/// big-endian length and that many bytes. (OpenSMTPD speaks imsg over its socket; MailLab's
/// smtpctl only talks to MailLab's smtpd, so a simpler framing of its own does.)
public enum ControlFrame {
    /// The largest payload either side accepts: a fault file is the biggest thing sent, and a
    /// queue listing of ~10,000 envelopes fits.
    public static let maximumPayload = 4 << 20

    /// `payload` with its length in front.
    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        let count = UInt32(payload.count)
        var bytes: [UInt8] = [
            UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF),
            UInt8(count & 0xFF),
        ]
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// Why bytes from the other side cannot be understood.
public struct ControlProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Cuts a byte stream into frames, whatever the splits: bytes in, whole payloads out.
public struct ControlFrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private let limit: Int

    public init(limit: Int = ControlFrame.maximumPayload) { self.limit = limit }

    /// Bytes held that do not make a whole frame yet.
    public var pendingBytes: Int { buffer.count }

    /// Appends `bytes` and returns every frame now complete, in order. A frame longer than
    /// the limit is an error as soon as its length is known (nothing of it is buffered).
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ControlProtocolError)
        -> [[UInt8]]
    {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        var start = 0
        while buffer.count - start >= 4 {
            let length =
                Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16
                | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            guard length <= limit else {
                buffer = []
                throw ControlProtocolError(
                    "frame of \(length) bytes is larger than the limit (\(limit) bytes)")
            }
            guard buffer.count - start - 4 >= length else { break }
            frames.append(Array(buffer[(start + 4)..<(start + 4 + length)]))
            start += 4 + length
        }
        if start > 0 { buffer.removeFirst(start) }
        return frames
    }
}
