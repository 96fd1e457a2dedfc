import Glibc
import LinuxSystem

/// Threads that run fsync(2) calls side by side. One fsync after the other costs a disk cache
/// flush each; issued together, the block layer merges their flushes and their inode and
/// folder writes overlap, so a batch costs about one flush.
final class MaildirFsyncPool: @unchecked Sendable {
    // @unchecked: `queue` is thread-safe; `threads` is only touched by `shutdown`'s caller.
    private let queue = MaildirWorkQueue<Task>()
    private let threadCount: Int
    private var threads: [pthread_t] = []

    private struct Task {
        let descriptor: Int32
        let path: String
        let index: Int
        let batch: Batch
    }

    /// The results of one `fsyncAll` call, filled in by the pool's threads.
    private final class Batch: @unchecked Sendable {
        // @unchecked: fields are only touched with `mutex` held.
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private var results: [SystemError?]
        private var remaining: Int

        init(count: Int) {
            results = Array(repeating: nil, count: count)
            remaining = count
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            pthread_mutex_destroy(mutex)
            condition.deallocate()
            mutex.deallocate()
        }

        func finish(_ index: Int, _ result: SystemError?) {
            pthread_mutex_lock(mutex)
            results[index] = result
            remaining -= 1
            if remaining == 0 { pthread_cond_signal(condition) }
            pthread_mutex_unlock(mutex)
        }

        func wait() -> [SystemError?] {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while remaining > 0 { pthread_cond_wait(condition, mutex) }
            return results
        }
    }

    init(threads count: Int) {
        let queue = self.queue
        threadCount = count
        threads = (0..<count).map { _ in
            MaildirWriter.startThread("maildir-fsync") {
                while let tasks = queue.take(limit: 1) {
                    for task in tasks {
                        task.batch.finish(
                            task.index, fsyncFailure(task.descriptor, path: task.path))
                    }
                }
            }
        }
    }

    /// fsyncs every target concurrently; the result for each target, in order (nil: durable).
    func fsyncAll(_ targets: [(descriptor: Int32, path: String)]) -> [SystemError?] {
        if targets.count <= 1 || threadCount == 0 {
            return targets.map { fsyncFailure($0.descriptor, path: $0.path) }
        }
        let batch = Batch(count: targets.count)
        for (index, target) in targets.enumerated() {
            let task = Task(
                descriptor: target.descriptor, path: target.path, index: index, batch: batch)
            if !queue.put(task) {
                batch.finish(
                    index, SystemError("fsync", target.path, errno: ESHUTDOWN))
            }
        }
        return batch.wait()
    }

    /// Lets the threads finish and joins them.
    func shutdown() {
        queue.close()
        for thread in threads { pthread_join(thread, nil) }
        threads = []
    }
}

/// fsync(2) with the failure as a value (nil: durable).
func fsyncFailure(_ fd: Int32, path: String) -> SystemError? {
    do {
        try FileSystem.fsync(fd, path: path)
        return nil
    } catch {
        return error
    }
}
