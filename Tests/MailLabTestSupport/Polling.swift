import LinuxSystem

/// Asks `probe` every `interval` seconds until it gives a value or `seconds` have passed, then
/// asks once more: what the tests wait for happens on another thread or process (a flush
/// round, a child's log line), and a slow machine must only make the wait longer.
public func poll<Value>(
    within seconds: Double, every interval: Double = 0.01, _ probe: () throws -> Value?
) rethrows -> Value? {
    let deadline = Clock.monotonicSeconds() + seconds
    while Clock.monotonicSeconds() < deadline {
        if let value = try probe() { return value }
        Clock.sleep(seconds: interval)
    }
    return try probe()
}

/// True once `condition` holds, asked every `interval` seconds for up to `seconds`.
public func eventually(
    within seconds: Double = 5, every interval: Double = 0.01, _ condition: () throws -> Bool
) rethrows -> Bool {
    try poll(within: seconds, every: interval) { try condition() ? true : nil } ?? false
}
