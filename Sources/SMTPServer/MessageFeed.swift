import SMTPProtocol
import Synchronization

/// Delivered messages in order, for `MailServer.nextMessage` and `messages`. Keeps the
/// `Message` itself and builds the `DeliveredMessage` only when someone reads it: `smtpd`
/// never does, and building it (headers, a copy of the content, address strings) on every
/// delivery cost ~8% of a message's instructions in the no-storage benchmark.
final class MessageFeed: Sendable {
    private struct Entry {
        let message: Message
        let files: [String]
        var delivered: DeliveredMessage { DeliveredMessage(message, files: files) }
    }
    private struct State {
        var messages: [Entry] = []
        var cursor = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<DeliveredMessage, any Error>)] = []
        var nextWaiter = 0
        var closed = false
        /// Waiters whose timeout fired before they were registered.
        var expired: Set<Int> = []
        /// Content bytes of `messages`.
        var bytes = 0
        /// Only the most recent messages are kept, so a long-running server does not grow:
        /// at most this many, and at most `retainedBytes` of content (10,000 messages of
        /// 100 KiB held a daemon at 1 GiB RSS).
        static let retained = 10_000
        static let retainedBytes = 32 << 20
    }
    private let state = Mutex(State())

    func publish(_ message: Message, files: [String]) {
        let entry = Entry(message: message, files: files)
        let waiter = state.withLock { state -> CheckedContinuation<DeliveredMessage, any Error>? in
            state.messages.append(entry)
            state.bytes += message.content.count
            if !state.waiters.isEmpty {
                state.cursor = state.messages.count
                return state.waiters.removeFirst().continuation
            }
            var drop = max(0, state.messages.count - State.retained)
            var bytes = state.bytes
            for index in 0..<drop { bytes -= state.messages[index].message.content.count }
            while bytes > State.retainedBytes && drop < state.messages.count - 1 {
                bytes -= state.messages[drop].message.content.count
                drop += 1
            }
            if drop > 0 {
                state.messages.removeFirst(drop)
                state.bytes = bytes
                state.cursor = max(0, state.cursor - drop)
            }
            return nil
        }
        waiter?.resume(returning: entry.delivered)
    }

    var all: [DeliveredMessage] { state.withLock { $0.messages }.map(\.delivered) }

    func next(timeoutNanoseconds: UInt64) async throws -> DeliveredMessage {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timeout = Task {
            try await Task.sleep(nanoseconds: timeoutNanoseconds)
            let waiter = state.withLock { state -> CheckedContinuation<DeliveredMessage, any Error>? in
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
            let ready = state.withLock { state -> Result<Entry, ServerError>? in
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
            if let ready { continuation.resume(with: ready.map(\.delivered)) }
        }
    }

    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            let all = state.waiters
            state.waiters = []
            return all
        }
        for waiter in waiters { waiter.continuation.resume(throwing: ServerError("the server stopped")) }
    }
}
