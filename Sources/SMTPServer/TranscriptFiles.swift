import Glibc
import LinuxSystem

/// The name of a session's transcript file: `YYYYMMDDTHHMMSS-SESSIONID.transcript` (UTC, the
/// session's start; the session id is 16 lowercase hex digits). Made by `TranscriptCapture`;
/// checked by the root parent, which creates files only of this shape for its network side.
enum TranscriptFileName {
    static let suffix = ".transcript"
    /// Every name has this many bytes: 8 + 1 + 6 + 1 + 16 + the suffix.
    static let length = 43

    static func make(compactStamp: String, sessionID: String) -> String {
        "\(compactStamp)-\(sessionID)\(suffix)"
    }

    /// Exactly the shape `make` gives: no `/`, never `.` or `..`, nothing longer.
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count == length, name.hasSuffix(suffix) else { return false }
        func digits(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (0x30...0x39).contains($0) }
        }
        let hex = bytes[16..<32].allSatisfy {
            (0x30...0x39).contains($0) || (0x61...0x66).contains($0)
        }
        return digits(0..<8) && bytes[8] == UInt8(ascii: "T") && digits(9..<15)
            && bytes[15] == UInt8(ascii: "-") && hex
    }

    /// `name` fit for a log line: control bytes escaped, cut at 80 characters (it may be a
    /// hostile child's).
    static func quoted(_ name: String) -> String {
        let cut = name.count > 80 ? String(name.prefix(80)) + "…" : name
        return String(reflecting: cut)
    }
}

/// Where a `TranscriptRecorder` gets its files: opened by path in one process, or created by
/// the root parent on the network side, which may not search the directory
/// (docs/PRIVILEGES.md). Called on the recorder's thread only.
protocol TranscriptFiles: Sendable {
    /// A write-only, appending descriptor of the new file `name` in the directory.
    func create(_ name: String) throws(SystemError) -> Int32
    /// A write to `fd` (the file `name`) failed and the transcript is dropped: what becomes
    /// of the file, for the log line (nil: it is gone).
    func discard(_ name: String, _ fd: Int32) -> String?
}

/// One process: the recorder opens paths itself, as smtpd's own user.
struct LocalTranscriptFiles: TranscriptFiles {
    let directory: String

    /// Creates `directory` (mode 0700) if needed; refuses a path that is not a directory.
    init(directory: String) throws(SystemError) {
        self.directory = directory
        if !FileSystem.exists(directory) { try FileSystem.mkdir(directory, mode: 0o700) }
        let status = try FileSystem.status(directory)
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw SystemError("transcript directory", directory, errno: ENOTDIR)
        }
    }

    func create(_ name: String) throws(SystemError) -> Int32 {
        try FileSystem.open(
            directory + "/" + name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode: 0o600)
    }

    func discard(_ name: String, _ fd: Int32) -> String? {
        try? FileSystem.unlink(directory + "/" + name)
        return nil
    }
}

/// The network side: each file is the parent's to create (a TRANSCRIPT record, one round
/// trip per session on the recorder's thread).
struct RemoteTranscriptFiles: TranscriptFiles {
    let client: SplitClient

    func create(_ name: String) throws(SystemError) -> Int32 {
        try client.transcriptFile(named: name).get()
    }

    /// No remove request: it would let the child delete any transcript it can name (other
    /// sessions' included). Emptied instead, which gives the space back (ENOSPC is the usual
    /// failure); the empty file stays.
    func discard(_ name: String, _ fd: Int32) -> String? {
        _ = ftruncate(fd, 0)
        return "an empty file is left (the network side may not remove it)"
    }
}

/// The root parent's transcript directory, held open for the network side's TRANSCRIPT
/// records: files are created in it by name (openat), never by a path the child gives.
final class TranscriptDirectory: Sendable {
    let path: String
    private let descriptor: Int32

    /// Creates `path` (mode 0700) if missing and opens it without following a symbolic link
    /// (the last component: the folders above it are the administrator's).
    init(path: String) throws(ServerError) {
        self.path = path
        func refused(_ why: String) -> ServerError {
            ServerError("transcript directory \(path): \(why)")
        }
        do throws(SystemError) {
            if (try? FileSystem.linkStatus(path)) == nil {
                do throws(SystemError) {
                    try FileSystem.mkdir(path, mode: 0o700)
                } catch  where error.errno == EEXIST {}
            }
            descriptor = try FileSystem.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch {
            guard error.errno == ENOTDIR || error.errno == ELOOP else {
                throw refused("\(error)")
            }
            // O_NOFOLLOW with O_DIRECTORY says ENOTDIR for a symbolic link too.
            if let status = try? FileSystem.linkStatus(path), status.st_mode & S_IFMT == S_IFLNK {
                throw refused(
                    "a symbolic link (smtpd does not follow it: name the directory itself)")
            }
            throw refused("not a directory")
        }
    }

    deinit { closeDescriptor(descriptor) }

    /// A write-only descriptor of the new file `name`, which must be a transcript file's
    /// name (`TranscriptFileName`): O_EXCL (an existing file is refused, never reused) and
    /// O_NOFOLLOW; mode 0600, root's. Write-only: the child cannot read transcripts back.
    func create(_ name: String) throws(SystemError) -> Int32 {
        guard TranscriptFileName.isValid(name) else {
            throw SystemError(
                "create transcript", "\(TranscriptFileName.quoted(name)) (not a transcript name)",
                errno: EINVAL)
        }
        return try FileSystem.openAt(
            descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW, mode: 0o600,
            path: path + "/" + name)
    }

    /// Undoes `create` when its descriptor could not be handed over.
    func remove(_ name: String) {
        guard TranscriptFileName.isValid(name) else { return }
        try? FileSystem.unlinkAt(descriptor, name, path: path + "/" + name)
    }
}
