import Glibc

/// A closable queue between threads (pthread mutex + condition): producers `put`, one
/// consumer takes everything pending at once, which is what makes batches.
final class MaildirWorkQueue<Element>: @unchecked Sendable {
    // @unchecked: every field below is only touched with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending: [Element] = []
    private var closed = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Appends `element`; false (and nothing queued) once the queue is closed.
    func put(_ element: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if closed { return false }
        pending.append(element)
        pthread_cond_signal(condition)
        return true
    }

    /// Waits for work and takes pending elements, in order, until their summed `weight`
    /// reaches `limit` (at least one). Nil when the queue is closed and drained.
    func take(limit: Int = .max, weight: (Element) -> Int = { _ in 1 }) -> [Element]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while pending.isEmpty && !closed { pthread_cond_wait(condition, mutex) }
        if pending.isEmpty { return nil }
        return takeLocked(limit: limit, weight: weight)
    }

    /// The elements `take` hands out, with `mutex` held.
    private func takeLocked(limit: Int, weight: (Element) -> Int) -> [Element] {
        var total = 0
        var count = 0
        while count < pending.count && (count == 0 || total < limit) {
            total += weight(pending[count])
            count += 1
        }
        let taken = Array(pending[..<count])
        pending.removeFirst(count)
        return taken
    }

    /// Takes pending elements as `take` does, without waiting: none if nothing is pending.
    func takePending(limit: Int = .max, weight: (Element) -> Int = { _ in 1 }) -> [Element] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return takeLocked(limit: limit, weight: weight)
    }

    /// No more puts; `take` drains what is left, then returns nil.
    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
