import CSystem
import Glibc
import LinuxSystem
import MailLabTestSupport
import Synchronization
import Testing

/// User lookup, the process privilege drop and the per-thread file-system identity. The drop
/// cannot be undone, so it runs in a forked child; the identity switch runs on threads of
/// this process and is undone before they end.
@Suite struct PrivilegeTests {
    @Test func rootIsFoundByNameAndByIDWithItsGroups() throws {
        let byName = try #require(try SystemUser.named("root"))
        #expect(byName.user == 0 && byName.group == 0 && byName.home == "/root")
        #expect(byName.groups.first == 0)
        #expect(try SystemUser.withID(0) == byName)
    }

    @Test func aMissingUserIsNilNotAnError() throws {
        #expect(try SystemUser.named("no-such-user-maillab-test") == nil)
        #expect(try SystemUser.named("") == nil)
        #expect(try SystemUser.withID(4_000_000_123) == nil)
    }

    @Test(.enabled(if: ThrowawayUser.canCreate, "needs root and useradd"))
    func aUsersSupplementaryGroupsAreListed() throws {
        let made = try ThrowawayUser(prefix: "mlsu", home: "/nonexistent", supplementaryGroup: true)
        defer { made.remove() }
        let found = try #require(try SystemUser.named(made.name))
        #expect(found.user == made.user && found.group == made.group)
        #expect(found.groups.first == made.group)
        #expect(found.groups.contains(try #require(made.extraGroup).id))
        #expect(found.identity.groups == found.groups)
    }

    /// In a child: drop to `nobody`, then check from inside what the kernel says. The child
    /// reports the first check that failed as its exit status.
    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func aDroppedProcessHasOnlyTheUsersIdsAndCannotRegainRoot() throws {
        let nobody = try #require(try SystemUser.named("nobody"))
        try #require(nobody.user != 0)
        let pid = fork()
        try #require(pid >= 0)
        if pid == 0 {
            var status: Int32 = 0
            do {
                try ProcessPrivileges.drop(to: nobody)
                let now = try ProcessPrivileges.current()
                if now.users != [nobody.user, nobody.user, nobody.user] {
                    status = 2
                } else if now.groups != [nobody.group, nobody.group, nobody.group] {
                    status = 3
                } else if Set(now.supplementary) != Set(nobody.groups) {
                    status = 4
                } else if csystem_setresuid(0, 0, 0) == 0 || setgroups(0, nil) == 0 {
                    status = 5
                } else if csystem_get_no_new_privileges() != 1 {
                    status = 6
                } else if csystem_get_dumpable() != 0 {
                    status = 7
                } else if access("/root", W_OK) == 0 {
                    status = 8
                }
            } catch {
                status = 1
            }
            _exit(status)
        }
        #expect(try waitForChild(pid) == 0)
    }

    /// Two threads: one writes as another user, the other stays root meanwhile; both make a
    /// file in the same folder, which records who made it.
    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func theFileSystemIdentityChangesOnlyTheCallingThread() throws {
        let nobody = try #require(try SystemUser.named("nobody"))
        let folder = try FileSystem.makeTemporaryDirectory(prefix: "fsid-test")
        defer { FileSystem.removeTree(folder) }
        #expect(chmod(folder, 0o1777) == 0)
        let switched = Semaphore()
        let checked = Semaphore()
        let seen = Mutex<
            (user: FileSystemIdentity?, other: FileSystemIdentity?, back: FileSystemIdentity?)
        >((nil, nil, nil))
        let before = try ThreadFileSystemIdentity.current()

        let writer = try SystemThread.start(name: "fsid-user") {
            do {
                let own = try ThreadFileSystemIdentity.current()
                try ThreadFileSystemIdentity.assume(nobody.identity)
                let now = try ThreadFileSystemIdentity.current()
                seen.withLock { $0.user = now }
                try FileSystem.writeFile(folder + "/as-user", [1], mode: 0o600)
                switched.post()
                checked.wait()
                try ThreadFileSystemIdentity.assume(own)
                let back = try ThreadFileSystemIdentity.current()
                seen.withLock { $0.back = back }
            } catch {
                switched.post()
            }
        }
        let other = try SystemThread.start(name: "fsid-root") {
            switched.wait()
            seen.withLock { $0.other = try? ThreadFileSystemIdentity.current() }
            try? FileSystem.writeFile(folder + "/as-root", [1], mode: 0o600)
            checked.post()
        }
        pthread_join(writer, nil)
        pthread_join(other, nil)

        let (user, stayed, back) = seen.withLock { $0 }
        #expect(user == nobody.identity)
        #expect(stayed == before)
        #expect(back == before)
        #expect(try FileSystem.status(folder + "/as-user").st_uid == nobody.user)
        #expect(try FileSystem.status(folder + "/as-user").st_gid == nobody.group)
        #expect(try FileSystem.status(folder + "/as-root").st_uid == 0)
        #expect(try ThreadFileSystemIdentity.current() == before)
    }

    /// As the user, the kernel refuses what the user may not do, though the process is root.
    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func aThreadActingAsAUserIsRefusedWhatTheUserMayNotDo() throws {
        let nobody = try #require(try SystemUser.named("nobody"))
        let folder = try FileSystem.makeTemporaryDirectory(prefix: "fsid-deny")
        defer { FileSystem.removeTree(folder) }  // 0700, root's
        let result = try SystemThread.run(name: "fsid-deny") { () -> Int32 in
            let own = try ThreadFileSystemIdentity.current()
            try ThreadFileSystemIdentity.assume(nobody.identity)
            defer { try? ThreadFileSystemIdentity.assume(own) }
            do throws(SystemError) {
                try FileSystem.writeFile(folder + "/x", [1])
                return 0
            } catch {
                return error.errno
            }
        }
        #expect(result == EACCES)
        #expect(!FileSystem.exists(folder + "/x"))
    }
}

/// waitpid for `pid`, at most 20 s (then SIGKILL): its exit status, or 128 + signal.
func waitForChild(_ pid: pid_t) throws -> Int32 {
    var status: Int32 = 0
    for _ in 0..<2000 {
        let done = waitpid(pid, &status, WNOHANG)
        if done == pid {
            return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        usleep(10_000)
    }
    kill(pid, SIGKILL)
    _ = waitpid(pid, &status, 0)
    return -1
}
