import Synchronization

/// Delivered messages in order, for `MailServer.nextMessage` and `messages`.
final class MessageFeed: Sendable {
    private struct State {
        var messages: [DeliveredMessage] = []
        var cursor = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<DeliveredMessage, any Error>)] =
            []
        var nextWaiter = 0
        var closed = false
        /// Waiters whose timeout fired before they were registered.
        var expired: Set<Int> = []
        /// Content bytes of `messages`.
        var bytes = 0
        /// Only the most recent messages are kept, so a long-running server does not grow:
        /// at most this many, and at most `retainedBytes` of content (unbounded, it grew a
        /// daemon to gigabytes: BENCHMARKS.md, "Figures behind code choices").
        static let retained = 10_000
        static let retainedBytes = 32 << 20
    }
    private let state = Mutex(State())

    func publish(_ message: DeliveredMessage) {
        let waiter = state.withLock { state -> CheckedContinuation<DeliveredMessage, any Error>? in
            state.messages.append(message)
            state.bytes += message.content.count
            if !state.waiters.isEmpty {
                state.cursor = state.messages.count
                return state.waiters.removeFirst().continuation
            }
            var drop = max(0, state.messages.count - State.retained)
            var bytes = state.bytes
            for index in 0..<drop { bytes -= state.messages[index].content.count }
            while bytes > State.retainedBytes && drop < state.messages.count - 1 {
                bytes -= state.messages[drop].content.count
                drop += 1
            }
            if drop > 0 {
                state.messages.removeFirst(drop)
                state.bytes = bytes
                state.cursor = max(0, state.cursor - drop)
            }
            return nil
        }
        waiter?.resume(returning: message)
    }

    var all: [DeliveredMessage] { state.withLock { $0.messages } }

    func next(timeoutNanoseconds: UInt64) async throws -> DeliveredMessage {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timeout = Task {
            try await Task.sleep(nanoseconds: timeoutNanoseconds)
            let waiter = state.withLock {
                state -> CheckedContinuation<DeliveredMessage, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    state.expired.insert(id)
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: ServerError("no message arrived within the timeout"))
        }
        defer { timeout.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<DeliveredMessage, ServerError>? in
                if state.cursor < state.messages.count {
                    state.cursor += 1
                    return .success(state.messages[state.cursor - 1])
                }
                if state.closed { return .failure(ServerError("the server stopped")) }
                if state.expired.remove(id) != nil {
                    return .failure(ServerError("no message arrived within the timeout"))
                }
                state.waiters.append((id, continuation))
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            let all = state.waiters
            state.waiters = []
            return all
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: ServerError("the server stopped"))
        }
    }
}
