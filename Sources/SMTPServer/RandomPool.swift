import CSystem
import Glibc
import SMTPProtocol

/// Kernel randomness fetched 4 KiB at a time: a session took four getrandom(2) calls (its
/// id, the message id, the envelope id, the Message-ID it adds), now one in 512 does.
/// The values are the kernel's own, so they are as unpredictable as before; a child made by
/// fork starts with an empty pool, so parent and child never hand out the same values.
///
/// The lock is a pthread mutex taken around fork (pthread_atfork prepare/parent/child), not
/// a Swift `Mutex`: another thread may hold the lock at the moment of fork, and a `Mutex`
/// held by a thread that does not exist in the child cannot be taken there (it traps).
final class RandomPool: @unchecked Sendable {
    static let shared = RandomPool()

    private static let capacity = 512
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    /// Guarded by `lock`.
    private let values: UnsafeMutableBufferPointer<UInt64>
    private var position = RandomPool.capacity

    private init() {
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        values = .allocate(capacity: Self.capacity)
        values.initialize(repeating: 0)
        // No fork can copy the pool half-changed, and the child's copy of the lock is free.
        pthread_atfork(
            { pthread_mutex_lock(RandomPool.shared.lock) },
            { pthread_mutex_unlock(RandomPool.shared.lock) },
            {
                let pool = RandomPool.shared
                pool.position = RandomPool.capacity
                pthread_mutex_unlock(pool.lock)
            })
    }

    func next() -> UInt64 {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if position == Self.capacity {
            Self.fill(UnsafeMutableRawBufferPointer(values))
            position = 0
        }
        defer { position += 1 }
        return values[position]
    }

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < buffer.count {
            let n = getrandom(buffer.baseAddress! + offset, buffer.count - offset, 0)
            if n > 0 {
                offset += n
            } else if n < 0 && errno != EINTR {
                // getrandom fails only without kernel support (pre-3.17); fall back to the
                // standard library's generator rather than hand out zeros.
                var generator = SystemRandomNumberGenerator()
                while offset + 8 <= buffer.count {
                    buffer.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
                    offset += 8
                }
                return
            }
        }
    }
}

extension SessionEnvironment {
    /// The system clock and kernel randomness from the shared pool: what servers use.
    public static var server: SessionEnvironment {
        var environment = SessionEnvironment.system
        environment.random = { RandomPool.shared.next() }
        return environment
    }
}
