import CSystem
import Glibc
import LinuxSystem

/// Named network namespaces, kept the way iproute2 keeps them: a bind mount of the namespace
/// on `/run/netns/NAME`, so ours show in `ip netns list` and theirs in ours.
public enum NetworkNamespace {
    /// Where iproute2 keeps named namespaces.
    public static let runDirectory = "/run/netns"

    /// The file that holds namespace `name`.
    public static func path(of name: String) -> String { "\(runDirectory)/\(name)" }

    static func validate(_ name: String, command: String) throws(NamespaceError) {
        if name.isEmpty || name.contains("/") || name == "." || name == ".."
            || name.utf8.count > Int(NAME_MAX)
        {
            throw NamespaceError(
                command, SystemError("", errno: EINVAL),
                detail: "invalid namespace name \"\(name)\"")
        }
    }

    /// Creates namespace `name`. On any failure nothing is left behind (no file in
    /// `/run/netns`, no thread in the new namespace).
    ///
    /// Equivalent to: `ip netns add $name`
    public static func add(_ name: String) throws(NamespaceError) {
        let command = "ip netns add \(name)"
        try validate(name, command: command)
        do throws(SystemError) {
            let lock = try lockRunDirectory()
            defer { closeDescriptor(lock) }
            let file = path(of: name)
            closeDescriptor(try FileSystem.open(file, O_RDONLY | O_CREAT | O_EXCL))
            do throws(SystemError) {
                // The worker unshares and then returns home; the bind mount keeps the new
                // namespace alive after that.
                var failure: SystemError?
                try NamespaceWorker.shared.perform(in: nil) {
                    do throws(SystemError) {
                        _ = try checkedCall("unshare") { csystem_unshare(CSYSTEM_CLONE_NEWNET) }
                        _ = try checkedCall("mount", file) {
                            mount("/proc/thread-self/ns/net", file, "none", UInt(MS_BIND), nil)
                        }
                    } catch {
                        failure = error
                    }
                }
                if let failure { throw failure }
            } catch {
                unlink(file)
                throw error
            }
        } catch {
            throw NamespaceError(command, error)
        }
    }

    /// Deletes namespace `name`: detaches the mount and removes the file. The namespace
    /// itself dies when nothing else refers to it (processes, sockets, open fds); its veth
    /// pairs are removed by the kernel asynchronously.
    ///
    /// Equivalent to: `ip netns del $name`
    public static func delete(_ name: String) throws(NamespaceError) {
        let command = "ip netns del \(name)"
        try validate(name, command: command)
        let file = path(of: name)
        if umount2(file, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            throw NamespaceError(command, SystemError("umount", file, errno: errno))
        }
        do {
            try FileSystem.unlink(file)
        } catch {
            throw NamespaceError(command, error)
        }
    }

    /// The names in `/run/netns`, sorted.
    ///
    /// Equivalent to: `ip netns list`
    public static func list() throws(NamespaceError) -> [String] {
        do {
            return try FileSystem.directoryEntries(runDirectory).sorted()
        } catch  where error.errno == ENOENT {
            return []
        } catch {
            throw NamespaceError("ip netns list", error)
        }
    }

    /// True if `/run/netns/NAME` exists.
    public static func exists(_ name: String) -> Bool { FileSystem.exists(path(of: name)) }

    /// Makes `/run/netns` exist, be locked by us and be a shared mount, as iproute2 does, so
    /// that namespace mounts propagate to every mount namespace (including `ip netns exec`'s).
    private static func lockRunDirectory() throws(SystemError) -> Int32 {
        if mkdir(runDirectory, 0o755) != 0 && errno != EEXIST {
            throw SystemError("mkdir", runDirectory, errno: errno)
        }
        let fd = try FileSystem.open(runDirectory, O_RDONLY | O_DIRECTORY)
        do throws(SystemError) {
            _ = try checkedCall("flock", runDirectory) { flock(fd, LOCK_EX) }
            var madeMount = false
            while mount("", runDirectory, "none", UInt(MS_SHARED | MS_REC), nil) != 0 {
                let saved = errno
                if saved != EINVAL || madeMount {
                    throw SystemError("mount --make-rshared", runDirectory, errno: saved)
                }
                _ = try checkedCall("mount --rbind", runDirectory) {
                    mount(runDirectory, runDirectory, "none", UInt(MS_BIND | MS_REC), nil)
                }
                madeMount = true
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }
}
