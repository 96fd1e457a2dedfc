import SMTPConfig
import Testing

@testable import SMTPServer

/// The bookkeeping behind `smtp timeout …`: which deadline comes next, whatever the split.
@Suite struct SessionDeadlinesTests {
    static let second: UInt64 = 1_000_000_000

    func deadlines() -> SessionDeadlines {
        var timeouts = SMTPTimeouts()
        timeouts.command = 10
        timeouts.data = 20
        timeouts.session = 100
        return SessionDeadlines(timeouts, now: 0)
    }

    func feed(_ deadlines: inout SessionDeadlines, _ text: String, at time: UInt64) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { deadlines.received($0, at: time) }
    }

    @Test func theSessionDeadlineHoldsWhileNothingElseRuns() {
        let d = deadlines()
        #expect(d.next.kind == .session)
        #expect(d.next.at == 100 * Self.second)
        #expect(d.expired(at: 99 * Self.second) == nil)
        #expect(d.expired(at: 100 * Self.second) == .session)
    }

    /// A line dripped a byte at a time keeps the time of its first byte.
    @Test func anIncompleteLineRunsFromItsFirstByte() {
        var d = deadlines()
        for (index, byte) in "NOOP".enumerated() {
            feed(&d, String(byte), at: UInt64(index + 1) * Self.second)
        }
        #expect(d.next.kind == .command)
        #expect(d.next.at == 11 * Self.second)
        feed(&d, "\r\n", at: 5 * Self.second)
        #expect(d.next.kind == .session)
    }

    /// Whole lines, then the start of another in the same read: the clock starts then.
    @Test func aNewLineAfterCompleteOnesStartsTheClockAnew() {
        var d = deadlines()
        feed(&d, "NO", at: 1 * Self.second)
        feed(&d, "OP\r\nRSET\r\nNO", at: 3 * Self.second)
        #expect(d.next.at == 13 * Self.second)
    }

    @Test func dataRunsFromThe354AndStopsTheCommandClock() {
        var d = deadlines()
        feed(&d, "DATA", at: 1 * Self.second)
        d.dataBegan(at: 2 * Self.second)
        #expect(d.next.kind == .data)
        #expect(d.next.at == 22 * Self.second)
        feed(&d, "a line without its end", at: 3 * Self.second)
        #expect(d.next.kind == .data, "message lines do not start the command clock")
        d.dataEnded()
        #expect(d.next.kind == .session)
    }

    /// The one timer never sleeps past a deadline, whenever a clock starts after it was armed.
    @Test func aTimerArmedAtWakeUpIsNeverLateForAClockStartedLater() {
        var d = deadlines()
        let armedAt = 3 * Self.second
        let wake = d.wakeUp(at: armedAt)
        #expect(wake == 13 * Self.second, "the shortest timeout from the arming")
        // Clocks started at or after the arming end no sooner than the wake-up.
        feed(&d, "NO", at: armedAt)
        #expect(d.next.at >= wake)
        d.dataBegan(at: armedAt + 1)
        #expect(d.next.at >= wake)
        // A deadline already running comes first.
        var late = deadlines()
        feed(&late, "NO", at: 1 * Self.second)
        #expect(late.wakeUp(at: 5 * Self.second) == 11 * Self.second)
        #expect(late.wakeUp(at: 95 * Self.second) == 11 * Self.second)
    }
}
