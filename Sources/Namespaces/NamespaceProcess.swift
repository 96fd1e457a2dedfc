import CSystem
import Glibc
import LinuxSystem

extension NetworkNamespace {
    /// Runs a program inside namespace `name` the way `ip netns exec` does: the child enters
    /// the namespace, gets its own mount namespace with `/` made rslave, `/sys` remounted (so
    /// `/sys/class/net` shows the namespace's links) and every `/etc/netns/NAME/FILE` bound over
    /// `/etc/FILE`. Waits for it and returns its exit status (128 + signal if killed).
    /// `arguments[0]` is looked up in `PATH` unless it contains a slash. The child inherits
    /// this process's environment and standard descriptors.
    ///
    /// Equivalent to: `ip netns exec $name $arguments…`
    public static func exec(_ name: String, arguments: [String]) throws(NamespaceError) -> Int32 {
        let command = "ip netns exec \(name) \(arguments.joined(separator: " "))"
        guard let program = arguments.first else {
            throw NamespaceError(command, SystemError("", errno: EINVAL), detail: "no command")
        }
        guard let path = resolve(program) else {
            throw NamespaceError(
                command, SystemError("", errno: ENOENT), detail: "\(program) not found in PATH")
        }
        do throws(SystemError) {
            let fd = try FileSystem.open(self.path(of: name), O_RDONLY)
            defer { closeDescriptor(fd) }
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var report: Int32 = -1
            let pid = try checkedCall("fork") {
                path.withCString { cPath in
                    csystem_spawn_netns_exec(cPath, &argv, environ, fd, 1, name, -1, &report)
                }
            }
            let failure = childFailure(report, path: path)
            closeDescriptor(report)
            let status = try wait(pid)
            if let failure { throw failure }
            return status
        } catch {
            throw NamespaceError(command, error)
        }
    }

    /// What the child reported before exec, if it failed: {stage, errno} on the pipe.
    static func childFailure(_ report: Int32, path: String) -> SystemError? {
        var message: (Int32, Int32) = (0, 0)
        let count = withUnsafeMutableBytes(of: &message) { raw in
            try? checkedCall("read") { read(report, raw.baseAddress, raw.count) }
        }
        guard count == MemoryLayout<(Int32, Int32)>.size else { return nil }
        let steps = [
            "", "setns", "unshare(CLONE_NEWNS)", "mount --make-rslave /", "mount -t sysfs /sys",
            "execve \(path)", "dup2 stdio", "setsid",
        ]
        let stage = Int(message.0)
        return SystemError(stage < steps.count ? steps[stage] : "stage \(stage)", errno: message.1)
    }

    private static func wait(_ pid: pid_t) throws(SystemError) -> Int32 {
        var status: Int32 = 0
        _ = try checkedCall("waitpid") { waitpid(pid, &status, 0) }
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
