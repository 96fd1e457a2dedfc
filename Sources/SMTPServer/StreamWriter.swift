import Glibc
import LinuxSystem
import Synchronization

/// The thread that writes streamed messages into their files, so that a loop never waits for
/// the disk: page-cache writes are mostly tens of microseconds, but a burst of big messages
/// meets the kernel's dirty-page throttling and a write then blocks for tens of milliseconds
/// (BENCHMARKS.md, "Streaming delivery"). Jobs run one after the other in the order given,
/// so a session's writes, its commit or abort keep their order. Sessions bound what they
/// queue (`SessionHandler.maxQueuedChunks`) and stop reading meanwhile: back-pressure.
final class StreamWriter: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var next = 0
        var closed = false
        /// Started with the first job: a server that never streams has no such thread.
        var thread: pthread_t?
    }
    private let state = Mutex(State())
    private let ready = Semaphore()

    private func work() {
        while true {
            ready.wait()
            let job = state.withLock { state -> (@Sendable () -> Void)? in
                guard state.next < state.jobs.count else { return nil }
                let job = state.jobs[state.next]
                state.next += 1
                if state.next > 64 && state.next * 2 > state.jobs.count {
                    state.jobs.removeFirst(state.next)
                    state.next = 0
                }
                return job
            }
            guard let job else { return }  // closed and drained
            job()
        }
    }

    /// Runs `job` on the writer thread, after every job given before; once the writer is shut
    /// down, at once on the caller's thread.
    func run(_ job: @escaping @Sendable () -> Void) {
        let queued = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.thread == nil {
                do {
                    state.thread = try SystemThread.start(name: "stream-writer") { [self] in
                        work()
                    }
                } catch {
                    return false  // no thread: the caller writes itself
                }
            }
            state.jobs.append(job)
            return true
        }
        if queued { ready.post() } else { job() }
    }

    /// Runs what is queued, then stops the thread.
    func shutdown() {
        let running = state.withLock { state -> pthread_t? in
            defer { state.closed = true }
            return state.closed ? nil : state.thread
        }
        if let joined = running {
            ready.post()  // the wake-up that finds the queue drained
            if pthread_equal(joined, pthread_self()) != 0 {
                pthread_detach(joined)
            } else {
                pthread_join(joined, nil)
            }
        }
    }
}
