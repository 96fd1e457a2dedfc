import SMTPConfig

/// The deadlines of one session that no byte from the client moves (`smtp timeout …`): a
/// command line must be complete `command` after its first byte, the DATA phase must end
/// `data` after its 354, the session `session` after it began. The idle timeout (any byte
/// resets it) stays beside them, in the connection. Pure bookkeeping; the handler's timer
/// acts on `next`. Times are monotonic nanoseconds.
struct SessionDeadlines {
    enum Kind: String {
        case command, data, session
    }

    private let command: UInt64
    private let data: UInt64
    private let sessionEnd: UInt64
    /// When the first byte of a still incomplete command line arrived.
    private(set) var lineStarted: UInt64?
    /// When the 354 went out, until the message ended.
    private(set) var dataStarted: UInt64?

    init(_ timeouts: SMTPTimeouts, now: UInt64) {
        command = UInt64(timeouts.command) * 1_000_000_000
        data = UInt64(timeouts.data) * 1_000_000_000
        sessionEnd = now &+ UInt64(timeouts.session) * 1_000_000_000
    }

    /// Bytes arrived: outside DATA, a line left incomplete starts (or keeps) the command clock.
    mutating func received(_ bytes: UnsafeRawBufferPointer, at now: UInt64) {
        guard dataStarted == nil, let last = bytes.last else { return }
        if last == 0x0A {
            lineStarted = nil
        } else if bytes.contains(0x0A) {
            lineStarted = now  // the incomplete line began in these bytes
        } else if lineStarted == nil {
            lineStarted = now
        }
    }

    /// The 354 went out: the DATA clock runs, the command clock does not.
    mutating func dataBegan(at now: UInt64) {
        dataStarted = now
        lineStarted = nil
    }

    /// The message ended (final dot, or refused).
    mutating func dataEnded() { dataStarted = nil }

    /// The earliest deadline.
    var next: (kind: Kind, at: UInt64) {
        var earliest = (kind: Kind.session, at: sessionEnd)
        if let lineStarted, lineStarted &+ command < earliest.at {
            earliest = (.command, lineStarted &+ command)
        }
        if let dataStarted, dataStarted &+ data < earliest.at {
            earliest = (.data, dataStarted &+ data)
        }
        return earliest
    }

    /// When a timer armed at `now` must fire at the latest: the earliest deadline, or the
    /// earliest one a clock started later could have (a line or a DATA that starts after `now`
    /// ends no sooner than `now` plus its timeout). Armed so, the timer need not move when a
    /// clock starts: one timer per session, not one per command.
    func wakeUp(at now: UInt64) -> UInt64 {
        min(next.at, now &+ min(command, data))
    }

    /// The deadline passed at `now`, if any.
    func expired(at now: UInt64) -> Kind? {
        let next = self.next
        return now >= next.at ? next.kind : nil
    }
}
