import CSystem
import Glibc

/// Named network namespaces, kept the way iproute2 keeps them: a bind mount of the namespace
/// on `/run/netns/NAME`, so ours show in `ip netns list` and theirs in ours.
public enum NetworkNamespace {
    /// Where iproute2 keeps named namespaces.
    public static let runDirectory = "/run/netns"

    /// The file that holds namespace `name`.
    public static func path(of name: String) -> String { "\(runDirectory)/\(name)" }

    static func validate(_ name: String, operation: String) throws(NetlinkError) {
        if name.isEmpty || name.contains("/") || name == "." || name == ".."
            || name.utf8.count > Int(NAME_MAX)
        {
            throw NetlinkError(
                operation: operation, errno: EINVAL,
                kernelMessage: "invalid namespace name \"\(name)\"")
        }
    }

    /// Creates namespace `name`. On any failure nothing is left behind (no file in
    /// `/run/netns`, no thread in the new namespace).
    ///
    /// Equivalent to: `ip netns add $name`
    public static func add(_ name: String) throws(NetlinkError) {
        let operation = "ip netns add \(name)"
        try validate(name, operation: operation)
        let lock = try lockRunDirectory(operation: operation)
        defer { close(lock) }
        let file = path(of: name)
        let fd = open(file, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        if fd < 0 { throw NetlinkError(operation: "\(operation): create \(file)", errno: errno) }
        close(fd)
        do throws(NetlinkError) {
            // The worker unshares and then returns to our namespace; the bind mount keeps the
            // new namespace alive after that.
            try NamespaceWorker.shared.perform(in: nil) { () throws(NetlinkError) -> Void in
                if csystem_unshare(CSYSTEM_CLONE_NEWNET) != 0 {
                    throw NetlinkError(operation: "\(operation): unshare", errno: errno)
                }
                if mount("/proc/thread-self/ns/net", file, "none", UInt(MS_BIND), nil) != 0 {
                    throw NetlinkError(operation: "\(operation): mount \(file)", errno: errno)
                }
            }
        } catch {
            unlink(file)
            throw error
        }
    }

    /// Deletes namespace `name`: detaches the mount and removes the file. The namespace
    /// itself dies when nothing else refers to it (processes, sockets, open fds); its veth
    /// pairs are removed by the kernel asynchronously.
    ///
    /// Equivalent to: `ip netns del $name`
    public static func delete(_ name: String) throws(NetlinkError) {
        let operation = "ip netns del \(name)"
        try validate(name, operation: operation)
        let file = path(of: name)
        if umount2(file, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            throw NetlinkError(operation: "\(operation): umount \(file)", errno: errno)
        }
        if unlink(file) != 0 {
            throw NetlinkError(operation: "\(operation): unlink \(file)", errno: errno)
        }
    }

    /// The names in `/run/netns`, sorted.
    ///
    /// Equivalent to: `ip netns list`
    public static func list() throws(NetlinkError) -> [String] {
        guard let dir = opendir(runDirectory) else {
            if errno == ENOENT { return [] }
            throw NetlinkError(operation: "ip netns list: opendir \(runDirectory)", errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// True if `/run/netns/NAME` exists.
    public static func exists(_ name: String) -> Bool {
        access(path(of: name), F_OK) == 0
    }

    /// Makes `/run/netns` exist, be locked by us and be a shared mount, as iproute2 does, so
    /// that namespace mounts propagate to every mount namespace (including `ip netns exec`'s).
    private static func lockRunDirectory(operation: String) throws(NetlinkError) -> Int32 {
        if mkdir(runDirectory, 0o755) != 0 && errno != EEXIST {
            throw NetlinkError(operation: "\(operation): mkdir \(runDirectory)", errno: errno)
        }
        let fd = open(runDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            throw NetlinkError(operation: "\(operation): open \(runDirectory)", errno: errno)
        }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let saved = errno
            close(fd)
            throw NetlinkError(operation: "\(operation): flock \(runDirectory)", errno: saved)
        }
        var madeMount = false
        while mount("", runDirectory, "none", UInt(MS_SHARED | MS_REC), nil) != 0 {
            let saved = errno
            if saved != EINVAL || madeMount {
                close(fd)
                throw NetlinkError(
                    operation: "\(operation): mount --make-rshared \(runDirectory)", errno: saved)
            }
            if mount(runDirectory, runDirectory, "none", UInt(MS_BIND | MS_REC), nil) != 0 {
                let saved = errno
                close(fd)
                throw NetlinkError(
                    operation: "\(operation): mount --rbind \(runDirectory)", errno: saved)
            }
            madeMount = true
        }
        return fd
    }
}
