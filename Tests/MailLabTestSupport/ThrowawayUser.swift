import Foundation
import Glibc

/// A system user made for one test (useradd, a unique name, a group of its own, no home made
/// by useradd: the test makes what it needs), removed by `remove()` (userdel, groupdel).
/// Root only: callers check `ThrowawayUser.canCreate` and skip with a message otherwise.
public struct ThrowawayUser: Sendable {
    public let name: String
    public let home: String
    public let user: uid_t
    public let group: gid_t
    /// A supplementary group made with it (`supplementaryGroup: true`), else nil.
    public let extraGroup: (name: String, id: gid_t)?

    public static var canCreate: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd")
    }

    /// `prefix` (a few lowercase letters) plus random hex; `home` is only recorded in passwd.
    public init(prefix: String, home: String, supplementaryGroup: Bool = false) throws {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let name = prefix + suffix
        var arguments = ["-M", "-U", "-d", home, "-s", "/usr/sbin/nologin"]
        var extra: (String, gid_t)? = nil
        if supplementaryGroup {
            let groupName = prefix + "g" + suffix
            try Self.run("/usr/sbin/groupadd", [groupName])
            guard let entry = getgrnam(groupName) else {
                throw Failure(text: "groupadd \(groupName): no group afterwards")
            }
            extra = (groupName, entry.pointee.gr_gid)
            arguments += ["-G", groupName]
        }
        do {
            try Self.run("/usr/sbin/useradd", arguments + [name])
        } catch {
            if let extra { _ = try? Self.run("/usr/sbin/groupdel", [extra.0]) }
            throw error
        }
        guard let entry = getpwnam(name) else {
            throw Failure(text: "useradd \(name): no user afterwards")
        }
        self.name = name
        self.home = home
        self.user = entry.pointee.pw_uid
        self.group = entry.pointee.pw_gid
        self.extraGroup = extra.map { (name: $0.0, id: $0.1) }
    }

    /// userdel (which removes the user's own group too), then the extra group; errors ignored
    /// (this runs in cleanups), but said on stderr.
    public func remove() {
        do {
            try Self.run("/usr/sbin/userdel", [name])
            if let extraGroup { try Self.run("/usr/sbin/groupdel", [extraGroup.name]) }
        } catch {
            FileHandle.standardError.write(Data("ThrowawayUser: \(error)\n".utf8))
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let text: String
        public var description: String { text }
    }

    private static func run(_ program: String, _ arguments: [String]) throws {
        let result = try runToEnd(program, arguments)
        guard result.status == 0 else {
            throw Failure(
                text:
                    "\(program) \(arguments.joined(separator: " ")): exit \(result.status): \(result.errors)"
            )
        }
    }
}
