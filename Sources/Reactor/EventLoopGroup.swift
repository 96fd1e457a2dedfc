import CSystem
import Glibc
import LinuxSystem
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
            started.append(try SystemThread.start(name: "smtpd-loop") { loop.run() })
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
