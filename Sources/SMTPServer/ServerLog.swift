import CSystem
import Glibc
import Synchronization

/// Where the server's log and trace lines go. Lines come from every loop thread; each is
/// written whole.
public struct LogSink: Sendable {
    public var write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    /// Standard error, one write(2) per line (what `smtpd -d` uses).
    public static let standardError = LogSink { line in
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.write(2, $0.baseAddress! + offset, $0.count - offset)
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
    }

    /// syslog(3), facility mail (what `smtpd -F` and the daemon use).
    public static let syslog = LogSink { line in csystem_syslog(LOG_MAIL | LOG_INFO, line) }

    /// Drops everything.
    public static let none = LogSink { _ in }
}

/// Collects lines in memory (for tests of the embedding API).
public final class MemoryLog: Sendable {
    private let storage = Mutex<[String]>([])
    public init() {}
    public var sink: LogSink { LogSink { [self] line in storage.withLock { $0.append(line) } } }
    public var lines: [String] { storage.withLock { $0 } }
}
