import Glibc

/// A lock that survives fork: a pthread mutex taken by every `ForkSafeLock` around fork
/// (pthread_atfork prepare/parent/child), so no fork copies guarded state half-changed and
/// the child's copy of the lock is free. In the child, `afterForkInChild` runs with the lock
/// held: the place to forget what belonged to the parent's threads (they do not exist there).
///
/// Not a Swift `Mutex`: another thread may hold it at the moment of fork, and a `Mutex` held
/// by a thread that does not exist in the child cannot be taken there (it traps).
public final class ForkSafeLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let afterForkInChild: () -> Void

    /// Locks live for the life of the process (the fork handlers refer to them).
    public init(afterForkInChild: @escaping () -> Void = {}) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        self.afterForkInChild = afterForkInChild
        ForkRegistry.add(self)
    }

    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    fileprivate func lock() { pthread_mutex_lock(mutex) }
    fileprivate func unlock() { pthread_mutex_unlock(mutex) }
    fileprivate func resetInChild() {
        afterForkInChild()
        pthread_mutex_unlock(mutex)
    }
}

/// Every `ForkSafeLock`, for the one set of fork handlers.
private enum ForkRegistry {
    nonisolated(unsafe) static var locks: [ForkSafeLock] = []
    nonisolated(unsafe) static let guardMutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_atfork(
            {
                pthread_mutex_lock(ForkRegistry.guardMutex)
                for lock in ForkRegistry.locks { lock.lock() }
            },
            {
                for lock in ForkRegistry.locks.reversed() { lock.unlock() }
                pthread_mutex_unlock(ForkRegistry.guardMutex)
            },
            {
                for lock in ForkRegistry.locks.reversed() { lock.resetInChild() }
                pthread_mutex_unlock(ForkRegistry.guardMutex)
            })
        return mutex
    }()

    static func add(_ lock: ForkSafeLock) {
        pthread_mutex_lock(guardMutex)
        locks.append(lock)
        pthread_mutex_unlock(guardMutex)
    }
}
