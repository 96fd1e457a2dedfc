import Glibc
import LinuxSystem
import SMTPConfig
import SessionTranscript
import Synchronization

/// Writes session transcripts (docs/TRANSCRIPTS.md) on a thread of its own, so that a slow
/// or full disk never holds up a loop: sessions hand over encoded lines through a bounded
/// queue and never wait. When the queue is full, or a file cannot be written (ENOSPC, EIO),
/// that session's transcript is dropped with a log line; the mail is not touched.
final class TranscriptRecorder: Sendable {
    let directory: String
    let maxSize: Int
    /// Bytes that may wait for the writer thread, over all sessions.
    static let maxPendingBytes = 8 * 1024 * 1024

    private struct Chunk {
        var file: String
        var bytes: [UInt8]
        var last: Bool
    }
    private struct State {
        var chunks: [Chunk] = []
        var pendingBytes = 0
        var stopping = false
    }
    private let state = Mutex(State())
    private let wakeUp = Semaphore()
    private let finished = Semaphore()
    private let log: LogSink
    private let files: any TranscriptFiles

    /// Starts the writer thread; `files` makes each session's file (`directory` names them
    /// in log lines).
    init(_ settings: TranscriptSettings, files: any TranscriptFiles, log: LogSink)
        throws(SystemError)
    {
        directory = settings.directory
        maxSize = settings.maxSize
        self.files = files
        self.log = log
        try SystemThread.start(name: "transcripts", detached: true) { [self] in run() }
    }

    /// Queues `bytes` for `file` (a name inside the directory); `last` closes it after.
    /// Returns false, queueing nothing, when the queue is full or the recorder stopped.
    func submit(file: String, bytes: [UInt8], last: Bool) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopping,
                state.pendingBytes + bytes.count <= Self.maxPendingBytes || bytes.isEmpty
            else { return false }
            state.pendingBytes += bytes.count
            state.chunks.append(Chunk(file: file, bytes: bytes, last: last))
            return true
        }
        if accepted { wakeUp.post() }
        return accepted
    }

    /// Writes what is queued, then stops the thread (waits for it).
    func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        wakeUp.post()
        finished.wait()
    }

    private func run() {
        var open: [String: Int32] = [:]
        var dropped: Set<String> = []
        while true {
            wakeUp.wait()
            let (batch, stopping) = state.withLock { state in
                let batch = state.chunks
                state.chunks = []
                state.pendingBytes = 0
                return (batch, state.stopping)
            }
            for chunk in batch {
                let path = directory + "/" + chunk.file
                if !dropped.contains(chunk.file) {
                    var fd = open[chunk.file] ?? -1
                    do throws(SystemError) {
                        if fd < 0 {
                            fd = try files.create(chunk.file)
                            open[chunk.file] = fd
                        }
                        if !chunk.bytes.isEmpty {
                            try FileSystem.writeAll(fd, [chunk.bytes], path: path)
                        }
                    } catch {
                        dropped.insert(chunk.file)
                        // Only a file this recorder created is discarded, never one in the way.
                        var left = ""
                        if fd >= 0 {
                            if let what = files.discard(chunk.file, fd) { left = "; \(what)" }
                            open.removeValue(forKey: chunk.file)
                            closeDescriptor(fd)
                        }
                        log.write("warn: transcript \(path) dropped: \(error)\(left)")
                    }
                }
                if chunk.last {
                    if let fd = open.removeValue(forKey: chunk.file) { closeDescriptor(fd) }
                    dropped.remove(chunk.file)
                }
            }
            if stopping {
                for fd in open.values { closeDescriptor(fd) }
                finished.post()
                return
            }
        }
    }
}

/// One session's transcript, on the session's loop: encodes each record at once (the
/// session's bytes are copied, nothing is retained) and hands it to the recorder.
struct TranscriptCapture {
    private let recorder: TranscriptRecorder
    let file: String
    private let started: UInt64
    private var written = 0
    private enum Phase { case recording, truncated, dropped }
    private var phase = Phase.recording

    /// `nil` (and a log line through `log`) when the first lines cannot be queued.
    init?(
        recorder: TranscriptRecorder, sessionID: String, peer: String, listener: String,
        serverName: String, log: (String) -> Void
    ) {
        self.recorder = recorder
        started = Clock.monotonicNanoseconds()
        let wall = Clock.wallTime()
        let stamp = Self.utcText(wall)
        file = TranscriptFileName.make(compactStamp: stamp.compact, sessionID: sessionID)
        let header = TranscriptCodec.header([
            .init(key: "session", value: sessionID), .init(key: "peer", value: peer),
            .init(key: "listener", value: listener), .init(key: "server", value: serverName),
            .init(key: "start", value: stamp.iso),
        ])
        guard recorder.submit(file: file, bytes: header, last: false) else {
            log("warn: transcript \(file) dropped: the transcript queue is full")
            return nil
        }
        written = header.count
    }

    /// Records `entry` now. Over `max-size`, a `truncated` note ends the transcript.
    mutating func record(_ entry: TranscriptEntry, log: (String) -> Void) {
        guard phase == .recording else { return }
        let now = (Clock.monotonicNanoseconds() &- started) / 1000
        var bytes = TranscriptCodec.encode(TranscriptRecord(microseconds: now, entry: entry))
        // Keep room for the note: the cap holds with it.
        let note = TranscriptCodec.encode(TranscriptRecord(microseconds: now, entry: .truncated))
        if written + bytes.count + note.count > recorder.maxSize {
            bytes = note
            phase = .truncated
        }
        guard recorder.submit(file: file, bytes: bytes, last: false) else {
            phase = .dropped
            log(
                "warn: transcript \(recorder.directory)/\(file) incomplete: the transcript queue is full"
            )
            return
        }
        written += bytes.count
    }

    /// The session ended: the file is closed.
    func finish() {
        // An empty last chunk is always taken (even with a full queue), so the file is closed.
        _ = recorder.submit(file: file, bytes: [], last: true)
    }

    private static func utcText(_ time: timespec) -> (iso: String, compact: String) {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let micros = String(time.tv_nsec / 1000)
        let date = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        let clock = "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
        let iso =
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))."
            + String(repeating: "0", count: 6 - micros.count) + micros + "Z"
        return (iso, "\(date)T\(clock)")
    }
}
