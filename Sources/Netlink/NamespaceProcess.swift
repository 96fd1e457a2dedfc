import CSystem
import Glibc

extension NetworkNamespace {
    /// Runs a program inside namespace `name` the way `ip netns exec` does: the child enters
    /// the namespace, gets its own mount namespace with `/` made rslave, `/sys` remounted (so
    /// `/sys/class/net` shows the namespace's links) and every `/etc/netns/NAME/FILE` bound over
    /// `/etc/FILE`. Waits for it and returns its exit status (128 + signal if killed).
    /// `arguments[0]` is looked up in `PATH` unless it contains a slash. The child inherits
    /// this process's environment and standard descriptors.
    ///
    /// Equivalent to: `ip netns exec $name $arguments…`
    public static func exec(_ name: String, arguments: [String]) throws(NetlinkError) -> Int32 {
        let operation = "ip netns exec \(name) \(arguments.joined(separator: " "))"
        guard let program = arguments.first else {
            throw NetlinkError(operation: operation, errno: EINVAL, kernelMessage: "no command")
        }
        guard let path = resolve(program) else {
            throw NetlinkError(
                operation: operation, errno: ENOENT, kernelMessage: "\(program) not found in PATH")
        }
        let fd = open(self.path(of: name), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw NetlinkError(
                operation: operation, errno: errno, kernelMessage: "no namespace \(name)")
        }
        defer { close(fd) }

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var stage: Int32 = 0
        var childErrno: Int32 = 0
        let pid = path.withCString { cPath in
            csystem_spawn_netns_exec(cPath, &argv, environ, fd, 1, name, &stage, &childErrno)
        }
        if pid < 0 { throw NetlinkError(operation: "\(operation): fork", errno: errno) }
        let status = try wait(pid, operation: operation)
        if stage != 0 {
            let steps = [
                "", "setns", "unshare(CLONE_NEWNS)", "mount --make-rslave /", "mount -t sysfs /sys",
                "execve \(path)",
            ]
            let step = Int(stage) < steps.count ? steps[Int(stage)] : "stage \(stage)"
            throw NetlinkError(operation: "\(operation): \(step)", errno: childErrno)
        }
        return status
    }

    private static func wait(_ pid: pid_t, operation: String) throws(NetlinkError) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR {
                throw NetlinkError(operation: "\(operation): waitpid", errno: errno)
            }
        }
        // WIFEXITED/WEXITSTATUS are macros; these are their definitions.
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// `program` itself if it contains a slash, else the first executable `PATH` entry.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let search = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in search.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
