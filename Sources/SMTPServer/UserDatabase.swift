import Glibc

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

/// The system's users: getpwnam_r(3), as OpenSMTPD's default userbase.
public struct SystemUsers: UserDatabase {
    public init() {}

    public func user(named name: String) -> LocalUser? {
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
