import Glibc

/// The clocks: the one place the project reads the time.
public enum Clock {
    /// CLOCK_MONOTONIC in nanoseconds: for timeouts, deadlines and measured delays.
    @inlinable
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Monotonic seconds, for deadlines kept as `Double`.
    @inlinable
    public static func monotonicSeconds() -> Double {
        Double(monotonicNanoseconds()) / 1e9
    }

    /// CLOCK_REALTIME: Unix time for names, dates and headers, never for measuring.
    @inlinable
    public static func wallTime() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }

    /// Unix time in whole seconds.
    @inlinable
    public static func unixSeconds() -> Int64 { Int64(wallTime().tv_sec) }

    /// Sleeps for `seconds` (nanosleep(2), resumed after a signal for the time left).
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        var pause = timespec(
            tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var left = timespec()
        _ = try? checkedCall("nanosleep") {
            let result = nanosleep(&pause, &left)
            pause = left
            return result
        }
    }
}
