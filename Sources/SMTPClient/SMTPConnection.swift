import Glibc
import LinuxSystem

/// What crossed the wire, for transcripts.
public enum TranscriptEvent: Sendable, Equatable {
    /// Bytes the client wrote, one entry per line (without its line end).
    case sent(String)
    /// One line the server sent (without its line end).
    case received(String)
    /// The server closed the connection.
    case closedByServer
    /// Something the client noticed (connected, timeout, error).
    case note(String)
}

/// A blocking SMTP client connection: lines out, replies in, every step with a timeout and
/// every byte reported to `observer` (for transcripts).
public final class SMTPConnection {
    public let fd: Int32
    /// Seconds allowed for each reply and each write (RFC 5321 §4.5.3.2 suggests minutes; a
    /// lab wants quick answers).
    public var timeout: Double
    public var observer: (TranscriptEvent) -> Void
    private var reader: LineReader
    private var parser = ReplyParser()
    private var closed = false

    /// Takes ownership of a connected socket.
    public init(
        fd: Int32, timeout: Double = 10, observer: @escaping (TranscriptEvent) -> Void = { _ in }
    ) {
        self.fd = fd
        self.timeout = timeout
        self.observer = observer
        self.reader = LineReader(fd: fd)
    }

    /// Connects (inside `namespace` when given) and wraps the socket.
    public static func connect(
        host: String, port: UInt16, namespace: String? = nil, timeout: Double = 10,
        observer: @escaping (TranscriptEvent) -> Void = { _ in }
    ) throws(ClientError) -> SMTPConnection {
        let fd = try TCP.connect(host: host, port: port, timeout: timeout, namespace: namespace)
        return SMTPConnection(fd: fd, timeout: timeout, observer: observer)
    }

    deinit { close() }

    /// Sends `line` followed by CRLF.
    public func send(_ line: String) throws(ClientError) {
        try write(Array(line.utf8) + [13, 10])
    }

    /// Writes `bytes` as they are, in one write as far as the kernel allows (pipelining).
    public func write(_ bytes: [UInt8]) throws(ClientError) {
        for line in displayLines(bytes) { observer(.sent(line)) }
        var offset = 0
        while offset < bytes.count {
            guard try wait(fd, for: Int16(POLLOUT), timeout: timeout) else {
                throw .timeout("writing to the server", seconds: timeout)
            }
            let count: Int?
            do {
                count = try systemCall("send", blocking: true) {
                    bytes[offset...].withUnsafeBytes {
                        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    }
                }
            } catch {
                throw .system(error)
            }
            offset += count ?? 0
        }
    }

    /// Reads one complete reply (all lines of a multi-line reply).
    public func readReply(timeout: Double? = nil) throws(ClientError) -> SMTPReply {
        let seconds = timeout ?? self.timeout
        let deadline = Clock.monotonicSeconds() + seconds
        while true {
            let remaining = max(0, deadline - Clock.monotonicSeconds())
            let bytes: [UInt8]?
            do {
                bytes = try reader.readLine(timeout: remaining)
            } catch .timeout {
                throw .timeout("waiting for a reply", seconds: seconds)
            }
            guard let bytes else {
                observer(.closedByServer)
                throw .closed(parser.isPending ? "inside a multi-line reply" : "before replying")
            }
            let line = String(decoding: bytes, as: UTF8.self)
            observer(.received(escapedForDisplay(bytes)))
            do {
                if let reply = try parser.feed(line) { return reply }
            } catch {
                throw .reply(error)
            }
        }
    }

    /// Waits until the server closes the connection; false if it is still open after `timeout`
    /// (lines that arrive meanwhile are shown and ignored).
    public func waitForClose(timeout: Double? = nil) throws(ClientError) -> Bool {
        let closed = try reader.waitForEOF(timeout: timeout ?? self.timeout)
        while let bytes = reader.bufferedLine() {
            observer(.received(escapedForDisplay(bytes)))
        }
        if closed { observer(.closedByServer) }
        return closed
    }

    /// Bytes received and not yet consumed as a reply.
    public var pendingInput: Int { reader.pendingCount }

    /// Closes the socket (idempotent).
    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}

/// Splits written bytes into display lines: at each LF (a CR before it dropped); a bare LF
/// is shown as `\n` at the end of its line, other control bytes escaped; a final fragment
/// without LF is marked.
func displayLines(_ bytes: [UInt8]) -> [String] {
    var lines: [String] = []
    var current: [UInt8] = []
    for byte in bytes {
        guard byte == UInt8(ascii: "\n") else {
            current.append(byte)
            continue
        }
        if current.last == UInt8(ascii: "\r") {
            current.removeLast()
            lines.append(escapedForDisplay(current))
        } else {
            lines.append(escapedForDisplay(current) + "\\n")
        }
        current = []
    }
    if !current.isEmpty { lines.append(escapedForDisplay(current) + " (no line end)") }
    return lines
}
