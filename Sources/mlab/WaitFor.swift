import Dispatch
import Synchronization

/// Runs `body` on the concurrency runtime and blocks the calling (main) thread until it ends.
/// Lets the few async verbs live under a synchronous root command; the main thread is not one
/// of the runtime's pool threads, so blocking it cannot starve the work it waits for.
func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    Task {
        do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
    }
    return try outcome.wait()
}

private final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ value: Result<T, any Error>) {
        result.withLock { $0 = value }
        done.signal()
    }

    func wait() throws -> T {
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
