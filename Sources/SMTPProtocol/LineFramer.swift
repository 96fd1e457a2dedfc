import Glibc

/// Splits client bytes into lines. It detects; the session decides.
///
/// Line-ending policy (SMTP smuggling, see hostile-input.md §3.1):
/// - A line ends at LF. One CR directly before the LF is stripped and reported as
///   `endedWithCRLF`; any other CR is data. CR runs are never folded: `.\r\r\n` is the
///   line `.\r`, not a dot.
/// - Length is counted as OpenSMTPD does (`SMTP_LINE_MAX`): a line whose bytes before the LF
///   (CR included) number `lineMax` or more, or `lineMax` bytes buffered without any LF, is
///   `.tooLong`. Both tests give the same answer however the input is split.
/// - Whether a bare-LF line is acceptable, and which "." ends DATA, is the session's
///   decision (`SMTPSession.LineMode`).
struct LineFramer {
    enum Next: Equatable {
        case line([UInt8], endedWithCRLF: Bool)
        case needMore
        case tooLong
    }

    private var buffer: [UInt8] = []
    /// Start of unconsumed bytes in `buffer`.
    private var start = 0
    /// Bytes before this offset are known to hold no LF.
    private var scanned = 0
    let lineMax: Int

    init(lineMax: Int) {
        self.lineMax = lineMax
    }

    var bufferedCount: Int { buffer.count - start }

    mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Drops every buffered byte: after STARTTLS nothing sent in plaintext may run
    /// (CVE-2011-0411).
    mutating func discardBuffered() {
        buffer = []
        start = 0
        scanned = 0
    }

    /// Up to `count` buffered bytes as they are, consumed: a BDAT chunk (RFC 3030) is not
    /// made of lines.
    mutating func take(upTo count: Int) -> ArraySlice<UInt8> {
        let end = min(buffer.count, start + count)
        let taken = buffer[start..<end]
        start = end
        scanned = start
        return taken
    }

    mutating func next() -> Next {
        let from = max(scanned, start)
        // memchr, not a Swift loop over the array: this scan is the hottest code of a
        // session (callgrind, BENCHMARKS.md).
        let index = buffer.withUnsafeBufferPointer { bytes -> Int in
            guard from < bytes.count, let base = bytes.baseAddress,
                let found = memchr(base + from, Int32(ASCII.lf), bytes.count - from)
            else { return bytes.count }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        guard index < buffer.count else {
            scanned = index
            return bufferedCount >= lineMax ? .tooLong : .needMore
        }
        let rawLength = index - start
        if rawLength >= lineMax {
            return .tooLong
        }
        var end = index
        let crlf = end > start && buffer[end - 1] == ASCII.cr
        if crlf { end -= 1 }
        let line = Array(buffer[start..<end])
        start = index + 1
        scanned = start
        if start == buffer.count && buffer.capacity > 4096 {
            // Everything consumed after a burst (a DATA body): an idle session should not
            // keep the burst's buffer.
            buffer = []
            start = 0
            scanned = 0
        }
        return .line(line, endedWithCRLF: crlf)
    }
}
