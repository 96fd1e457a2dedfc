import Glibc
import LinuxSystem
import Synchronization

/// Process-wide, so two writers in one process never build the same name.
private let nameSequence = Atomic<UInt64>(0)

/// Unique Maildir file names: `<sec>.M<usec>P<pid>Q<seq>.<host>` (the maildir(5) convention
/// of qmail and Dovecot). The sequence number makes names unique within the process even when
/// the clock stands still; creation with O_EXCL catches anything else.
struct MaildirNamer: Sendable {
    let host: String
    let pid: Int32

    init(hostname: String) {
        host = Self.sanitize(hostname)
        pid = getpid()
    }

    func next() -> String {
        let now = Clock.wallTime()
        let sequence = nameSequence.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(pid)Q\(sequence).\(host)"
    }

    /// `/` and `:` cannot appear in a name (path separator, info separator): maildir(5) writes
    /// them as `\057` and `\072`; `,` starts the markers of a tmp/ name (``marked(_:size:extraLinks:)``)
    /// and becomes `\054`. An empty host name becomes "localhost".
    static func sanitize(_ hostname: String) -> String {
        if hostname.isEmpty { return "localhost" }
        var result = ""
        for character in hostname {
            switch character {
            case "/": result += "\\057"
            case ":": result += "\\072"
            case ",": result += "\\054"
            case "\0": result += "\\000"
            default: result.append(character)
            }
        }
        return result
    }

    /// A tmp/ name that says what the whole file is: `NAME,S=<size>` (the Maildir++ size
    /// field), plus `,N=<k>` when k further names in new/ share the file. Given once the file
    /// holds all its bytes, so that start-up recovery can tell a whole message from one cut
    /// short (``Maildir/sweepTemporaryFiles()``); the name in new/ is `NAME`.
    static func marked(_ name: String, size: Int, extraLinks: Int) -> String {
        name + ",S=\(size)" + (extraLinks > 0 ? ",N=\(extraLinks)" : "")
    }

    /// The name in new/ for a tmp/ name: without its markers. Searched as bytes, as a file
    /// name is (a search by Character runs grapheme breaking: ~12 K instructions a name).
    static func unmarked(_ name: String) -> String {
        name.utf8.firstIndex(of: UInt8(ascii: ",")).map { String(name[..<$0]) } ?? name
    }

    /// What a `tmp/` file's name proves about it: a Maildir name (`SECONDS.UNIQUE.HOST`, no
    /// leading dot, no `/`), for names in smtpd's own form the pid of its writer, and for
    /// marked names (``marked(_:size:extraLinks:)``) the size and further names of the whole
    /// message.
    struct Shape {
        /// From `P<pid>` in a name smtpd made, nil for other programs' names.
        let writer: Int32?
        /// When the name was made (its first field, wall-clock seconds).
        let seconds: Int
        /// `S=`: the size of the whole file, nil for an unmarked name.
        let size: Int?
        /// `N=`: further names in new/ for the same file.
        let extraLinks: Int

        init?(_ name: String) {
            let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(\.isASCIIDigit),
                let seconds = Int(parts[0]), !parts[1].isEmpty, !parts[2].isEmpty,
                !name.contains("/")
            else { return nil }
            self.seconds = seconds
            writer = Self.writer(in: parts[1])
            var size: Int?
            var extraLinks = 0
            // Markers only on smtpd's names: another program's comma means something else.
            if writer != nil {
                for field in parts[2].split(separator: ",", omittingEmptySubsequences: false)
                    .dropFirst()
                {
                    if field.hasPrefix("S="), let value = Self.count(field.dropFirst(2)) {
                        size = value
                    } else if field.hasPrefix("N="), let value = Self.count(field.dropFirst(2)) {
                        extraLinks = value
                    } else {
                        size = nil  // not a marker this version writes: not smtpd's to recover
                        break
                    }
                }
            }
            self.size = size
            self.extraLinks = size == nil ? 0 : extraLinks
        }

        /// A decimal count without sign or leading junk, below a bound no message reaches.
        private static func count(_ digits: Substring) -> Int? {
            guard !digits.isEmpty, digits.count <= 15, digits.allSatisfy(\.isASCIIDigit) else {
                return nil
            }
            return Int(digits)
        }

        /// `M<usec>P<pid>Q<seq>`, as `MaildirNamer.next` writes it.
        private static func writer(in unique: Substring) -> Int32? {
            guard unique.first == "M", let p = unique.firstIndex(of: "P"),
                let q = unique.firstIndex(of: "Q"), p < q,
                unique[unique.index(after: unique.startIndex)..<p].allSatisfy(\.isASCIIDigit)
            else { return nil }
            return Int32(unique[unique.index(after: p)..<q])
        }

        /// True if the name is smtpd's and its writer is gone: no process has its pid
        /// (kill(2) with signal 0 answers ESRCH), or the process that has it started after
        /// the name was made (the pid was reused, after a reboot, or this very process
        /// restarted under the pid of the one before). A file of a running writer may still
        /// be in the making: never gone.
        var writerHasExited: Bool {
            guard let writer, writer > 0 else { return false }
            if kill(writer, 0) != 0 && errno == ESRCH { return true }
            guard let started = ProcessStart.wallSeconds(of: writer) else { return false }
            // A second's slack: the boot time the kernel reports is rounded.
            return started > seconds + 1
        }
    }
}

/// When a process started, in wall-clock seconds (/proc/PID/stat's start time after boot,
/// plus /proc/stat's boot time); nil if /proc cannot say.
enum ProcessStart {
    static func wallSeconds(of pid: Int32) -> Int? {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
            return nil
        }
        // Fields after the command name, which may hold spaces and parentheses: state is
        // field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Int(fields[19]), let boot = bootSeconds else {
            return nil
        }
        let perSecond = sysconf(Int32(_SC_CLK_TCK))
        guard perSecond > 0 else { return nil }
        return boot + ticks / perSecond
    }

    private static let bootSeconds: Int? = {
        guard let text = read("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(line.dropFirst(6).trimmingPrefix(while: { $0 == " " }))
        }
        return nil
    }()

    private static func read(_ path: String) -> String? {
        (try? FileSystem.readFile(path, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) }
    }

}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Maildir {
    /// The name in new/ of the file smtpd writes as tmp/ `name` (its `,S=` and `,N=` marks
    /// dropped).
    public static func deliveredName(ofTemporary name: String) -> String {
        MaildirNamer.unmarked(name)
    }

    /// The tmp/ name smtpd keeps, until a flush covers it, for the file of `size` bytes it
    /// delivered as new/ `name` with no further links (docs/DURABILITY.md, step 4).
    public static func temporaryName(ofDelivered name: String, size: Int) -> String {
        MaildirNamer.marked(name, size: size, extraLinks: 0)
    }
}
