import CSystem
import Glibc
import LinuxSystem
import Synchronization

/// Where the server's log and trace lines go. Lines come from every loop thread; each is
/// written whole.
public struct LogSink: Sendable {
    /// Writes a batch of lines (without their newlines), in order.
    public var writeLines: @Sendable ([String]) -> Void

    /// A sink that takes one line at a time.
    public init(_ write: @escaping @Sendable (String) -> Void) {
        writeLines = { lines in lines.forEach(write) }
    }

    /// A sink that takes the lines of one batch together.
    public init(lines: @escaping @Sendable ([String]) -> Void) { writeLines = lines }

    public func write(_ line: String) { writeLines([line]) }

    /// Standard error, one write(2) per batch: a message's log lines cost one system call,
    /// not five (what `smtpd -d` uses; `write` of a few KiB to a pipe or file is not split).
    public static let standardError = LogSink(lines: { lines in
        var bytes: [UInt8] = []
        for line in lines {
            bytes.append(contentsOf: line.utf8)
            bytes.append(0x0A)
        }
        // A closed standard error is no reason to stop serving.
        try? FileSystem.writeAll(2, [bytes], path: "standard error")
    })

    /// syslog(3), facility mail (what `smtpd -F` and the daemon use).
    public static let syslog = LogSink { line in csystem_syslog(LOG_MAIL | LOG_INFO, line) }

    /// Drops everything.
    public static let none = LogSink(lines: { _ in })
}

/// Collects lines in memory (for tests of the embedding API).
public final class MemoryLog: Sendable {
    private let storage = Mutex<[String]>([])
    public init() {}
    public var sink: LogSink { LogSink { [self] line in storage.withLock { $0.append(line) } } }
    public var lines: [String] { storage.withLock { $0 } }
}
