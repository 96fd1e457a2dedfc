import CSystem
import Glibc
import LinuxSystem
import SMTPProtocol

/// Kernel randomness fetched 4 KiB at a time: a session took four getrandom(2) calls (its
/// id, the message id, the envelope id, the Message-ID it adds), now one in 512 does.
/// The values are the kernel's own, so they are as unpredictable as before; a child made by
/// fork starts with an empty pool (the lock's fork handler), so parent and child never hand
/// out the same values.
final class RandomPool: @unchecked Sendable {
    static let shared = RandomPool()

    private static let capacity = 512
    private let lock = ForkSafeLock()
    /// Guarded by `lock`.
    private let values: UnsafeMutableBufferPointer<UInt64>
    private var position = RandomPool.capacity

    private init() {
        values = .allocate(capacity: Self.capacity)
        values.initialize(repeating: 0)
    }

    func next() -> UInt64 {
        lock.withLock { inForkedChild in
            if inForkedChild { position = Self.capacity }
            if position == Self.capacity {
                Self.fill(UnsafeMutableRawBufferPointer(values))
                position = 0
            }
            defer { position += 1 }
            return values[position]
        }
    }

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < buffer.count {
            do {
                offset += try checkedCall("getrandom") {
                    getrandom(buffer.baseAddress! + offset, buffer.count - offset, 0)
                }
            } catch {
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
        SessionEnvironment(now: { Clock.unixSeconds() }, random: { RandomPool.shared.next() })
    }
}
