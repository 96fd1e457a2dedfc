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
}
