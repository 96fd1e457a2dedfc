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
    /// them as `\057` and `\072`. An empty host name becomes "localhost".
    static func sanitize(_ hostname: String) -> String {
        if hostname.isEmpty { return "localhost" }
        var result = ""
        for character in hostname {
            switch character {
            case "/": result += "\\057"
            case ":": result += "\\072"
            case "\0": result += "\\000"
            default: result.append(character)
            }
        }
        return result
    }

    /// What a `tmp/` file's name proves about it: a Maildir name (`SECONDS.UNIQUE.HOST`, no
    /// leading dot, no `/`), and for names in smtpd's own form the pid of its writer.
    struct Shape {
        /// From `P<pid>` in a name smtpd made, nil for other programs' names.
        let writer: Int32?

        init?(_ name: String) {
            let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(\.isASCIIDigit),
                !parts[1].isEmpty, !parts[2].isEmpty, !name.contains("/")
            else { return nil }
            writer = Self.writer(in: parts[1])
        }

        /// `M<usec>P<pid>Q<seq>`, as `MaildirNamer.next` writes it.
        private static func writer(in unique: Substring) -> Int32? {
            guard unique.first == "M", let p = unique.firstIndex(of: "P"),
                let q = unique.firstIndex(of: "Q"), p < q,
                unique[unique.index(after: unique.startIndex)..<p].allSatisfy(\.isASCIIDigit)
            else { return nil }
            return Int32(unique[unique.index(after: p)..<q])
        }

        /// True if the name is smtpd's and its writer is gone (kill(2) with signal 0 answers
        /// ESRCH). A file of this very process may still be in the making: never stale here.
        var writerHasExited: Bool {
            guard let writer, writer > 0, writer != getpid() else { return false }
            return kill(writer, 0) != 0 && errno == ESRCH
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
