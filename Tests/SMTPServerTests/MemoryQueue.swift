import SMTPServer
import Synchronization

/// A relay queue in memory for the control tests: it holds envelopes and really applies
/// schedule (due now), remove (gone) and pause/resume; it delivers nothing by itself.
final class MemoryQueue: QueueControl {
    private struct State {
        var envelopes: [QueuedEnvelope] = []
        var paused = false
        var removed = 0
        var scheduled = 0
    }
    private let state = Mutex(State())
    /// What `schedule` sets `nextTry` to: the clock of the test.
    let now: @Sendable () -> Int64

    init(_ envelopes: [QueuedEnvelope], now: @escaping @Sendable () -> Int64) {
        state.withLock { $0.envelopes = envelopes }
        self.now = now
    }

    func queueSnapshot() -> [QueuedEnvelope] { state.withLock { $0.envelopes } }

    private static func matches(_ envelope: QueuedEnvelope, _ selector: QueueSelector) -> Bool {
        switch selector {
        case .all: true
        case .message(let id): envelope.messageID == id
        case .envelope(let id): envelope.id == id
        }
    }

    func schedule(_ selector: QueueSelector) -> Int {
        let time = now()
        return state.withLock { state in
            var count = 0
            for index in state.envelopes.indices
            where Self.matches(state.envelopes[index], selector) {
                state.envelopes[index].nextTry = time
                count += 1
            }
            state.scheduled += count
            return count
        }
    }

    func remove(_ selector: QueueSelector) -> Int {
        state.withLock { state in
            let before = state.envelopes.count
            state.envelopes.removeAll { Self.matches($0, selector) }
            state.removed += before - state.envelopes.count
            return before - state.envelopes.count
        }
    }

    func pauseDelivery() { state.withLock { $0.paused = true } }
    func resumeDelivery() { state.withLock { $0.paused = false } }
    var isDeliveryPaused: Bool { state.withLock { $0.paused } }

    func statistics() -> [(name: String, value: Int)] {
        state.withLock {
            [
                ("queue.envelope", $0.envelopes.count),
                ("scheduler.envelope.removed", $0.removed),
            ]
        }
    }
}
