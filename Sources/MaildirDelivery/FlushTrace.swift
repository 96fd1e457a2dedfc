import Glibc
import LinuxSystem

/// Opt-in timing of the way from a message's final dot to its `250`
/// (`MAILLAB_FLUSH_TRACE=FILE`; BENCHMARKS.md, "Where the flush wait goes"). Off, it costs one
/// test of a constant per stamp: `now()` returns 0 and nothing is written.
///
/// Lines appended to FILE (one `write(2)` per batch or message, so lines of several threads
/// never mix), all times CLOCK_MONOTONIC nanoseconds:
/// - `J submitted taken written dataFlushed linked namesStarted namesFlushed completed jobs
///   files`:
///   one delivery job in the Maildir writer, with the size of its batch (jobs, files); in
///   `.syncfs` mode nothing flushes names, and namesStarted and namesFlushed equal linked;
/// - `S dot handed posted resumed replied`: one message in its session (the final dot taken
///   from the session, the commit handed to the store, the completion posted to the loop,
///   the loop running it, the reply written); printed by `bench/flushtrace.py`.
///
/// Each process opens FILE itself (append mode, created 0600): with a process split the
/// sessions' `S` lines come from the network side, which must be able to open FILE too.
public enum FlushTrace {
    public static let variable = "MAILLAB_FLUSH_TRACE"

    /// The trace file's descriptor; -1: tracing off.
    private static let descriptor: Int32 = {
        guard let path = getenv(variable).map({ String(cString: $0) }), !path.isEmpty else {
            return -1
        }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 {
            let warning = "warning: \(variable)=\(path): cannot open (errno \(errno)), no trace\n"
            _ = warning.withCString { Glibc.write(2, $0, strlen($0)) }
        }
        return fd
    }()

    public static let enabled = descriptor >= 0

    /// The time for a stamp, or 0 with tracing off.
    @inline(__always)
    public static func now() -> UInt64 { enabled ? Clock.monotonicNanoseconds() : 0 }

    /// Appends `lines` (each ending in a newline) with one write; nothing with tracing off.
    public static func emit(_ lines: String) {
        guard enabled, !lines.isEmpty else { return }
        var text = lines
        // A short write to a regular file in O_APPEND is a full disk: the trace just ends.
        text.withUTF8 { _ = Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }

    /// A message's stamps in its session, for its `S` line (all 0 with tracing off).
    public struct Message: Sendable {
        public var dot: UInt64 = 0
        public var handed: UInt64 = 0
        public var posted: UInt64 = 0
        public var resumed: UInt64 = 0

        public init(dot: UInt64 = FlushTrace.now()) { self.dot = dot }

        /// The `S` line, once the reply is written.
        public func emit() {
            guard FlushTrace.enabled else { return }
            FlushTrace.emit("S \(dot) \(handed) \(posted) \(resumed) \(FlushTrace.now())\n")
        }
    }

    /// A `J` line for each job of one flush, in the format above.
    static func emitJobs(_ jobs: [DeliveryJob]) {
        guard enabled else { return }
        var text = ""
        for job in jobs {
            let s = job.stamps
            text += "J \(s.submitted) \(s.taken) \(s.written) \(s.dataFlushed) \(s.linked) "
            text += "\(s.namesStarted) \(s.namesFlushed) \(s.completed) "
            text += "\(s.batchJobs) \(s.batchFiles)\n"
        }
        emit(text)
    }

    /// Stamps `stage` of every job with the time now; nothing with tracing off.
    @inline(__always)
    static func stamp(_ jobs: [DeliveryJob], _ stage: WritableKeyPath<FlushStamps, UInt64>) {
        guard enabled else { return }
        let time = Clock.monotonicNanoseconds()
        for job in jobs { job.stamps[keyPath: stage] = time }
    }

    /// Stamps the batch the writer took: when, and its size.
    static func taken(_ jobs: [DeliveryJob]) {
        guard enabled else { return }
        let time = Clock.monotonicNanoseconds()
        let files = jobs.reduce(0) { $0 + max($1.items.count, $1.files.count) }
        for job in jobs {
            job.stamps.taken = time
            job.stamps.batchJobs = jobs.count
            job.stamps.batchFiles = files
        }
    }
}

/// When a job passed each stage of the writer (``FlushTrace``; all 0 with tracing off).
struct FlushStamps {
    var submitted: UInt64 = 0
    var taken: UInt64 = 0
    var written: UInt64 = 0
    var dataFlushed: UInt64 = 0
    var linked: UInt64 = 0
    var namesStarted: UInt64 = 0
    var namesFlushed: UInt64 = 0
    var completed: UInt64 = 0
    var batchJobs = 0
    var batchFiles = 0
}
