import CSystem
import Glibc

/// A user of the system's user database (passwd through NSS), with every group it is a
/// member of: what a process or a thread needs to act as that user.
public struct SystemUser: Sendable, Hashable {
    public var name: String
    public var user: uid_t
    /// The primary group (passwd's).
    public var group: gid_t
    /// The primary group and every supplementary group (getgrouplist(3)).
    public var groups: [gid_t]
    public var home: String
    public var shell: String

    public init(
        name: String, user: uid_t, group: gid_t, groups: [gid_t], home: String, shell: String
    ) {
        self.name = name
        self.user = user
        self.group = group
        self.groups = groups
        self.home = home
        self.shell = shell
    }

    /// What a thread takes on to touch files as this user (see ``FileSystemIdentity``).
    public var identity: FileSystemIdentity {
        FileSystemIdentity(user: user, group: group, groups: groups)
    }

    /// The user named `name`; nil if there is none. A failing lookup (NSS, an unreadable
    /// /etc/passwd) throws. getpwnam_r(3) + getgrouplist(3).
    public static func named(_ name: String) throws(SystemError) -> SystemUser? {
        guard !name.isEmpty, !name.utf8.contains(0) else { return nil }
        return try lookUp("getpwnam_r", name) { entry, buffer, size, result in
            getpwnam_r(name, entry, buffer, size, result)
        }
    }

    /// The user with id `id`; nil if there is none. getpwuid_r(3) + getgrouplist(3).
    public static func withID(_ id: uid_t) throws(SystemError) -> SystemUser? {
        try lookUp("getpwuid_r", String(id)) { entry, buffer, size, result in
            getpwuid_r(id, entry, buffer, size, result)
        }
    }

    /// The passwd entry through `call` (which returns an errno, not -1), with a buffer grown
    /// on ERANGE; then the groups.
    private static func lookUp(
        _ operation: String, _ key: String,
        _ call: (
            UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int,
            UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>
        ) -> Int32
    ) throws(SystemError) -> SystemUser? {
        var size = 1024
        while true {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: size)
            var status: Int32
            repeat {
                status = buffer.withUnsafeMutableBufferPointer {
                    call(&entry, $0.baseAddress!, size, &result)
                }
            } while status == EINTR
            if status == ERANGE && size < 1 << 20 {
                size *= 4
                continue
            }
            // "Not found" is 0 with no result; glibc may also answer ENOENT/ESRCH/EBADF/EPERM
            // for it (getpwnam_r(3), NOTES).
            if status == 0 && result == nil || [ENOENT, ESRCH].contains(status) { return nil }
            guard status == 0, let found = result else {
                throw SystemError(operation, key, errno: status)
            }
            let name = String(cString: found.pointee.pw_name)
            let group = found.pointee.pw_gid
            return SystemUser(
                name: name, user: found.pointee.pw_uid, group: group,
                groups: try groupList(name, group),
                home: String(cString: found.pointee.pw_dir),
                shell: String(cString: found.pointee.pw_shell))
        }
    }

    /// getgrouplist(3): the primary group first, then the supplementary ones.
    private static func groupList(_ name: String, _ group: gid_t) throws(SystemError) -> [gid_t] {
        var count: Int32 = 16
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            let status = groups.withUnsafeMutableBufferPointer {
                csystem_getgrouplist(name, group, $0.baseAddress!, &found)
            }
            if status >= 0 { return Array(groups.prefix(Int(found))) }
            // -1: too small; `found` now says how many there are.
            guard found > count, found <= 65536 else {
                throw SystemError("getgrouplist", name, errno: errno == 0 ? ERANGE : errno)
            }
            count = found
        }
    }
}
