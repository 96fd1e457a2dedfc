import Synchronization

/// Sessions per client address, for `smtp limit max-sessions-per-address`: shared by every
/// loop (a listener accepts on all of them), so behind a lock; only consulted when the limit
/// is set.
final class AddressSessionCount: Sendable {
    let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Counts a session from `address`; false, counting nothing, if that would exceed the
    /// limit.
    func admit(_ address: String) -> Bool {
        counts.withLock { counts in
            let count = counts[address, default: 0]
            guard count < limit else { return false }
            counts[address] = count + 1
            return true
        }
    }

    /// A session admitted from `address` ended.
    func release(_ address: String) {
        counts.withLock { counts in
            guard let count = counts[address] else { return }
            counts[address] = count > 1 ? count - 1 : nil
        }
    }
}
