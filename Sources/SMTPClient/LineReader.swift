import Glibc
import LinuxSystem

/// Reads lines from a descriptor, with a length limit and a timeout per line.
/// A line ends at LF; one CR before it is removed. The reader only detects; what a bare LF
/// or an over-long line means is for the caller to decide (as Postfix's smtp_stream).
public struct LineReader: ~Copyable {
    /// Longest line accepted, without its line end. RFC 5321 §4.5.3.1.5: a reply line is at
    /// most 512 bytes; servers exceed it in practice, so a generous default.
    public static let defaultLimit = 65536

    public let fd: Int32
    public let limit: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEOF = false

    public init(fd: Int32, limit: Int = LineReader.defaultLimit) {
        self.fd = fd
        self.limit = limit
    }

    /// Bytes received but not yet returned as a line.
    public var pendingCount: Int { buffer.count - start }

    /// The next line, or nil at end of input. A final line without LF is returned as is.
    /// `timeout` in seconds (nil: wait forever).
    public mutating func readLine(timeout: Double?) throws(ClientError) -> [UInt8]? {
        let deadline = timeout.map { Clock.monotonicSeconds() + $0 }
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                compact()
                guard line.count <= limit else { throw .lineTooLong(limit: limit) }
                return line
            }
            guard pendingCount <= limit + 1 else { throw .lineTooLong(limit: limit) }
            if atEOF {
                guard pendingCount > 0 else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                compact()
                return line
            }
            let remaining = deadline.map { max(0, $0 - Clock.monotonicSeconds()) }
            guard try wait(fd, for: Int16(POLLIN), timeout: remaining) else {
                throw .timeout("waiting for a line", seconds: timeout ?? 0)
            }
            try fill()
        }
    }

    /// A complete line already received, without reading or waiting; at end of input also
    /// a final fragment without LF.
    public mutating func bufferedLine() -> [UInt8]? {
        if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var end = newline
            if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = Array(buffer[start..<end])
            start = newline + 1
            compact()
            return line
        }
        guard atEOF, pendingCount > 0 else { return nil }
        let line = Array(buffer[start...])
        start = buffer.count
        compact()
        return line
    }

    /// True when the peer closed (EOF) within `timeout`; received bytes are kept as lines.
    public mutating func waitForEOF(timeout: Double?) throws(ClientError) -> Bool {
        let deadline = timeout.map { Clock.monotonicSeconds() + $0 }
        while !atEOF {
            let remaining = deadline.map { max(0, $0 - Clock.monotonicSeconds()) }
            guard try wait(fd, for: Int16(POLLIN), timeout: remaining) else { return false }
            try fill()
            if pendingCount > limit { throw .lineTooLong(limit: limit) }
        }
        return true
    }

    private mutating func fill() throws(ClientError) {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let count: Int?
        do throws(SystemError) {
            count = try systemCall("read", blocking: true) {
                chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
        } catch  where error.errno == ECONNRESET {
            count = 0
        } catch {
            throw .system(error)
        }
        guard let count else { return }  // nothing yet: the caller polls again
        if count > 0 {
            buffer += chunk[0..<count]
        } else {
            atEOF = true
        }
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
    }
}
