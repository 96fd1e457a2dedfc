import Glibc
import LinuxSystem
import Reactor
import Synchronization

/// A local user as delivery needs it.
public struct LocalUser: Sendable, Hashable {
    public var name: String
    public var home: String
    public init(name: String, home: String) {
        self.name = name
        self.home = home
    }
}

/// Looks up local users by name.
public protocol UserDatabase: Sendable {
    func user(named name: String) -> LocalUser?
}

/// The system's users: getpwnam_r(3), as OpenSMTPD's default userbase. Answers are kept
/// for `cacheSeconds` (getpwnam_r reads and parses /etc/passwd through NSS on every call, a
/// visible share of a message's CPU: BENCHMARKS.md, "Figures behind code choices"), so a
/// user added or removed is seen within that time.
public struct SystemUsers: UserDatabase {
    public static let cacheSeconds = 2
    private let cache = UserCache()

    public init() {}

    public func user(named name: String) -> LocalUser? {
        let now = Clock.monotonicNanoseconds()
        if let hit = cache.lookup(name, now: now) { return hit.user }
        let found = Self.lookUp(name)
        cache.store(name, found, expires: now + UInt64(Self.cacheSeconds) * 1_000_000_000)
        return found
    }

    private static func lookUp(_ name: String) -> LocalUser? {
        guard !name.isEmpty, !name.contains("\0") else { return nil }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0, let found = result else { return nil }
        return LocalUser(
            name: String(cString: found.pointee.pw_name),
            home: String(cString: found.pointee.pw_dir))
    }
}

/// Recent user lookups, hits and misses, shared by the loops.
final class UserCache: Sendable {
    struct Entry {
        /// nil: no such user.
        var user: LocalUser?
        var expires: UInt64
    }
    /// Bounds memory when clients try many different names.
    private static let capacity = 1024
    private let entries = Mutex<[String: Entry]>([:])

    /// The cached answer (possibly "no such user") if it has not expired.
    func lookup(_ name: String, now: UInt64) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[name], entry.expires > now else { return nil }
            return entry
        }
    }

    func store(_ name: String, _ user: LocalUser?, expires: UInt64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[name] = Entry(user: user, expires: expires)
        }
    }
}

/// Users from a `userbase` table: `name = "uid:gid:/home/dir"` mappings, or plain names
/// (home `/nonexistent`).
struct TableUsers: UserDatabase {
    let entries: [String: String]

    func user(named name: String) -> LocalUser? {
        guard let value = entries[name] else { return nil }
        let home = value.split(separator: ":", maxSplits: 2).dropFirst(2).first.map(String.init)
        return LocalUser(name: name, home: home ?? "/nonexistent")
    }
}
