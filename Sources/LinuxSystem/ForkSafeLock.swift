import Glibc

/// A lock that survives fork: a pthread mutex that every live `ForkSafeLock` takes around
/// fork (pthread_atfork prepare/parent/child), so no fork copies guarded state half-changed
/// and the child's copy of the lock is free. The first `withLock` in a child made by fork is
/// told so (`inForkedChild`): the place to drop what belonged to the parent's threads, which
/// do not exist there. The handlers themselves only store plain values: they run between fork
/// and exec of a spawned program too, where nothing may allocate or take another lock.
///
/// Not a Swift `Mutex`: another thread may hold it at the moment of fork, and a `Mutex` held
/// by a thread that does not exist in the child cannot be taken there (it traps).
public final class ForkSafeLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Set by the child handler, cleared by the first `withLock` after it.
    private var forked = false

    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        ForkRegistry.add(self)
    }

    deinit {
        ForkRegistry.remove(self)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock; `inForkedChild` is true once, in the first call of a
    /// child made by fork.
    public func withLock<R>(_ body: (_ inForkedChild: Bool) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let inChild = forked
        forked = false
        return try body(inChild)
    }

    fileprivate func lock() { pthread_mutex_lock(mutex) }
    fileprivate func unlock() { pthread_mutex_unlock(mutex) }
    fileprivate func unlockInChild() {
        forked = true
        pthread_mutex_unlock(mutex)
    }
}

/// Every live `ForkSafeLock`, for the one set of fork handlers.
private enum ForkRegistry {
    struct Entry {
        let id: ObjectIdentifier
        /// Unowned: a lock leaves the registry in its deinit, under the registry's mutex.
        unowned(unsafe) let lock: ForkSafeLock
    }
    nonisolated(unsafe) static var entries: [Entry] = []
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_atfork(
            {
                pthread_mutex_lock(ForkRegistry.mutex)
                for entry in ForkRegistry.entries { entry.lock.lock() }
            },
            {
                for entry in ForkRegistry.entries { entry.lock.unlock() }
                pthread_mutex_unlock(ForkRegistry.mutex)
            },
            {
                for entry in ForkRegistry.entries { entry.lock.unlockInChild() }
                pthread_mutex_unlock(ForkRegistry.mutex)
            })
        return mutex
    }()

    static func add(_ lock: ForkSafeLock) {
        pthread_mutex_lock(mutex)
        entries.append(Entry(id: ObjectIdentifier(lock), lock: lock))
        pthread_mutex_unlock(mutex)
    }

    static func remove(_ lock: ForkSafeLock) {
        pthread_mutex_lock(mutex)
        entries.removeAll { $0.id == ObjectIdentifier(lock) }
        pthread_mutex_unlock(mutex)
    }
}
