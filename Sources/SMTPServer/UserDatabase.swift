import Glibc
import LinuxSystem
import Reactor
import Synchronization

/// A local user as delivery needs it.
public struct LocalUser: Sendable, Hashable {
    public var name: String
    public var home: String
    /// The ids a delivery as this user writes with; nil: a user the system does not know
    /// (a `userbase` table's without ids), delivered to as smtpd itself.
    public var identity: FileSystemIdentity?

    public init(name: String, home: String, identity: FileSystemIdentity? = nil) {
        self.name = name
        self.home = home
        self.identity = identity
    }
}

/// Looks up local users by name.
public protocol UserDatabase: Sendable {
    func user(named name: String) -> LocalUser?
}

/// The system's users: getpwnam_r(3) and getgrouplist(3) (`SystemUser`), as OpenSMTPD's
/// default userbase. Answers are kept
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

    /// A lookup that fails (NSS) is "no such user" here: the recipient is refused, as
    /// OpenSMTPD's lka answers a failed userbase lookup.
    private static func lookUp(_ name: String) -> LocalUser? {
        guard let found = try? SystemUser.named(name) else { return nil }
        return LocalUser(name: found.name, home: found.home, identity: found.identity)
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

/// Users from a `userbase` table: `name = "uid:gid:/home/dir"` mappings (delivered to as
/// that uid and gid, as OpenSMTPD's virtual users), or plain names (home `/nonexistent`,
/// delivered to as smtpd itself).
struct TableUsers: UserDatabase {
    let entries: [String: String]

    func user(named name: String) -> LocalUser? {
        guard let value = entries[name] else { return nil }
        let fields = value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        let home = fields.dropFirst(2).first.map(String.init)
        var identity: FileSystemIdentity? = nil
        if fields.count == 3, let user = uid_t(fields[0]), let group = gid_t(fields[1]) {
            identity = FileSystemIdentity(user: user, group: group, groups: [group])
        }
        return LocalUser(name: name, home: home ?? "/nonexistent", identity: identity)
    }
}
