import CSystem
import Glibc
import SMTPProtocol
import Synchronization

/// Kernel randomness fetched 4 KiB at a time: a session took four getrandom(2) calls (its
/// id, the message id, the envelope id, the Message-ID it adds), now one in 512 does.
/// The values are the kernel's own, so they are as unpredictable as before; a child made by
/// fork starts with an empty pool, so parent and child never hand out the same values.
final class RandomPool: Sendable {
    static let shared = RandomPool()

    private static let capacity = 512
    private struct Pool {
        var values = [UInt64](repeating: 0, count: RandomPool.capacity)
        var next = RandomPool.capacity
    }
    private let pool = Mutex(Pool())

    private init() {
        pthread_atfork(nil, nil) {
            RandomPool.shared.pool.withLock { $0.next = RandomPool.capacity }
        }
    }

    func next() -> UInt64 {
        pool.withLock { pool in
            if pool.next == Self.capacity {
                pool.values.withUnsafeMutableBytes { Self.fill($0) }
                pool.next = 0
            }
            defer { pool.next += 1 }
            return pool.values[pool.next]
        }
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
    /// `time(2)` and kernel randomness from the shared pool: what servers use.
    public static var server: SessionEnvironment {
        SessionEnvironment(
            now: { Int64(time(nil)) }, random: { RandomPool.shared.next() })
    }
}
