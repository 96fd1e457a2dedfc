import CSystem
import Glibc
import Synchronization

/// Several event loops, each on its own thread (one per core by default).
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let threads: Mutex<[pthread_t]>
    private let cursor = Atomic<Int>(0)

    /// Starts `count` loops on new threads. Threads inherit the creating thread's signal mask
    /// and network namespace.
    public init(count: Int = processorCount()) throws(SystemError) {
        var loops: [EventLoop] = []
        for _ in 0..<max(1, count) { loops.append(try EventLoop()) }
        self.loops = loops
        var started: [pthread_t] = []
        for loop in loops {
            started.append(try startThread(name: "smtpd-loop") { loop.run() })
        }
        threads = Mutex(started)
    }

    /// The next loop, round robin.
    public func next() -> EventLoop {
        loops[cursor.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop and waits for its thread to end.
    public func shutdown() {
        for loop in loops { loop.stop() }
        let joined = threads.withLock { list -> [pthread_t] in
            let all = list
            list = []
            return all
        }
        for thread in joined { pthread_join(thread, nil) }
    }
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a joinable pthread running `body`.
public func startThread(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError)
    -> pthread_t
{
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            body.body()
            return nil
        }, box)
    guard result == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(box).release()
        throw SystemError("pthread_create", errno: result)
    }
    _ = csystem_set_thread_name(thread, String(name.prefix(15)))
    return thread
}

/// Online processors (sysconf(_SC_NPROCESSORS_ONLN)).
public func processorCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
