import CSystem
import Glibc

/// What the kernel checks file access against: the file-system user and group ids and the
/// supplementary groups.
public struct FileSystemIdentity: Sendable, Hashable {
    public var user: uid_t
    public var group: gid_t
    public var groups: [gid_t]

    public init(user: uid_t, group: gid_t, groups: [gid_t]) {
        self.user = user
        self.group = group
        self.groups = groups
    }
}

/// Giving up root for the rest of a process's life.
public enum ProcessPrivileges {
    /// Becomes `user` for good, in every thread: supplementary groups (setgroups), then real,
    /// effective and saved group (setresgid), then user (setresuid), each verified by reading
    /// it back (getresgid, getresuid, getgroups), because a silently failed drop leaves root;
    /// then no new privileges (PR_SET_NO_NEW_PRIVS: no set-uid program can give root back)
    /// and not dumpable (PR_SET_DUMPABLE 0: no core file or ptrace of what root had read).
    /// Groups before ids: once the uid is gone, setgroups is no longer allowed.
    /// Equivalent to OpenSMTPD's `setgroups; setresgid; setresuid` in each process.
    /// SIGKILL for this process when its parent ends (PR_SET_PDEATHSIG), then a check that
    /// the parent is still `parent`: one that ended before the flag was set sent nothing.
    public static func endWithParent(_ parent: pid_t) throws(SystemError) {
        _ = try checkedCall("prctl PR_SET_PDEATHSIG") { csystem_set_parent_death_signal(SIGKILL) }
        guard getppid() == parent else {
            throw SystemError("getppid", "parent \(parent)", errno: ESRCH)
        }
    }

    public static func drop(to user: SystemUser) throws(SystemError) {
        let groups = user.groups.isEmpty ? [user.group] : user.groups
        _ = try checkedCall("setgroups", user.name) {
            groups.withUnsafeBufferPointer { csystem_setgroups($0.count, $0.baseAddress) }
        }
        _ = try checkedCall("setresgid", user.name) {
            csystem_setresgid(user.group, user.group, user.group)
        }
        _ = try checkedCall("setresuid", user.name) {
            csystem_setresuid(user.user, user.user, user.user)
        }
        let now = try current()
        guard now.users == [user.user, user.user, user.user] else {
            throw SystemError("setresuid", "\(user.name) (still \(now.users))", errno: EPERM)
        }
        guard now.groups == [user.group, user.group, user.group] else {
            throw SystemError("setresgid", "\(user.name) (still \(now.groups))", errno: EPERM)
        }
        guard Set(now.supplementary) == Set(groups) else {
            throw SystemError(
                "setgroups", "\(user.name) (still \(now.supplementary))", errno: EPERM)
        }
        if user.user != 0 {
            // Root can always become root again: only check a drop to another user.
            guard csystem_setresuid(0, 0, 0) != 0 else {
                throw SystemError("setresuid", "\(user.name) (root regained)", errno: EPERM)
            }
        }
        _ = try checkedCall("prctl PR_SET_NO_NEW_PRIVS", user.name) {
            csystem_set_no_new_privileges()
        }
        _ = try checkedCall("prctl PR_SET_DUMPABLE", user.name) { csystem_set_dumpable(0) }
    }

    /// The process's real, effective and saved user and group ids and the calling thread's
    /// supplementary groups. getresuid(2), getresgid(2), getgroups(2).
    public static func current() throws(SystemError) -> (
        users: [uid_t], groups: [gid_t], supplementary: [gid_t]
    ) {
        var (ruid, euid, suid): (uid_t, uid_t, uid_t) = (0, 0, 0)
        var (rgid, egid, sgid): (gid_t, gid_t, gid_t) = (0, 0, 0)
        _ = try checkedCall("getresuid") { csystem_getresuid(&ruid, &euid, &suid) }
        _ = try checkedCall("getresgid") { csystem_getresgid(&rgid, &egid, &sgid) }
        return ([ruid, euid, suid], [rgid, egid, sgid], try threadGroups())
    }

    /// getgroups(2) of the calling thread.
    static func threadGroups() throws(SystemError) -> [gid_t] {
        let count = try checkedCall("getgroups") { getgroups(0, nil) }
        var groups = [gid_t](repeating: 0, count: Int(count))
        let got = try checkedCall("getgroups") {
            groups.withUnsafeMutableBufferPointer { getgroups(Int32($0.count), $0.baseAddress) }
        }
        return Array(groups.prefix(Int(got)))
    }
}

/// The calling thread's file-system identity: the ids the kernel checks and records when the
/// thread opens, creates, links or removes a file. Linux keeps them per thread, and neither
/// setfsuid(2) nor setfsgid(2) is broadcast by glibc, so one thread can write as a user while
/// the others stay root; the supplementary groups are set with the raw setgroups system call,
/// which changes only the calling thread too (glibc's setgroups(3) would change them all).
/// A thread that is not root can only "switch" to its own ids.
public enum ThreadFileSystemIdentity {
    /// The calling thread's identity now. setfsuid(2) cannot report an error, so the current
    /// id is read by asking for an invalid one (-1), which changes nothing and returns it.
    public static func current() throws(SystemError) -> FileSystemIdentity {
        FileSystemIdentity(
            user: uid_t(bitPattern: csystem_setfsuid(uid_t.max)),
            group: gid_t(bitPattern: csystem_setfsgid(gid_t.max)),
            groups: try ProcessPrivileges.threadGroups())
    }

    /// The calling thread's file-system user id alone (one system call).
    public static func currentUser() -> uid_t { uid_t(bitPattern: csystem_setfsuid(uid_t.max)) }

    /// Makes `identity` the calling thread's. Groups first and the user last on the way to a
    /// user (setfsuid to a user drops the file capabilities, not CAP_SETUID/CAP_SETGID, so the
    /// way back stays open), each verified: setfsuid and setfsgid return the previous id, so
    /// a second call with the same id returns the one now in effect (setfsuid(2), NOTES).
    public static func assume(_ identity: FileSystemIdentity) throws(SystemError) {
        // Exactly these groups, none included: a root thread's own list is often empty.
        let groups = identity.groups
        _ = try checkedCall("setgroups", "thread") {
            groups.withUnsafeBufferPointer { csystem_thread_setgroups($0.count, $0.baseAddress) }
        }
        _ = csystem_setfsgid(identity.group)
        let group = gid_t(bitPattern: csystem_setfsgid(identity.group))
        guard group == identity.group else {
            throw SystemError("setfsgid", "\(identity.group) (still \(group))", errno: EPERM)
        }
        _ = csystem_setfsuid(identity.user)
        let user = uid_t(bitPattern: csystem_setfsuid(identity.user))
        guard user == identity.user else {
            throw SystemError("setfsuid", "\(identity.user) (still \(user))", errno: EPERM)
        }
    }
}
