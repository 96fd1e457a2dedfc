import Glibc

/// The only place the module reads the clock; used by `SessionEnvironment.system` alone.
enum SystemClock {
    static func unixSeconds() -> Int { time(nil) }
}
