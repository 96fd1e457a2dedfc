import CSystem
import Glibc
import LinuxSystem

extension NetworkNamespace {
    /// Starts a program inside namespace `name` (nil: the process's own) the way `ip netns
    /// exec` does (see `exec`), but does not wait for it: returns its pid once it has exec'd.
    /// The child is detached for a server that outlives the caller — a session of its own,
    /// stdin from /dev/null, stdout and stderr on `output` (typically a log file) — and gets
    /// `environment` (`NAME=value` entries) added to this process's. The caller reaps it if it
    /// stays its parent (`waitpid`); once the caller exits, init does.
    ///
    /// Equivalent to: `setsid ip netns exec $name $arguments… </dev/null >>LOG 2>&1 &`
    public static func spawn(
        _ name: String?, arguments: [String], environment: [String] = [], output: Int32
    ) throws(NamespaceError) -> pid_t {
        let command =
            (name.map { "ip netns exec \($0) " } ?? "") + arguments.joined(separator: " ")
        guard let program = arguments.first else {
            throw NamespaceError(command, SystemError("", errno: EINVAL), detail: "no command")
        }
        guard let path = resolve(program) else {
            throw NamespaceError(
                command, SystemError("", errno: ENOENT), detail: "\(program) not found in PATH")
        }
        do throws(SystemError) {
            let fd = try name.map { namespace throws(SystemError) in
                try FileSystem.open(self.path(of: namespace), O_RDONLY)
            }
            defer { if let fd { closeDescriptor(fd) } }
            let names = Set(environment.map { $0.prefix(while: { $0 != "=" }) + "=" })
            var inherited: [String] = []
            var entry = environ
            while let pointer = entry.pointee {
                let text = String(cString: pointer)
                if !names.contains(where: { text.hasPrefix($0) }) { inherited.append(text) }
                entry += 1
            }
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            var envp: [UnsafeMutablePointer<CChar>?] =
                (inherited + environment).map { strdup($0) } + [nil]
            defer { for pointer in argv + envp { free(pointer) } }
            var report: Int32 = -1
            let pid = try checkedCall("fork") {
                path.withCString { cPath in
                    csystem_spawn_netns_exec(
                        cPath, &argv, &envp, fd ?? -1, name == nil ? 0 : 1, name, output,
                        &report)
                }
            }
            let failure = childFailure(report, path: path)
            closeDescriptor(report)
            if let failure {
                var status: Int32 = 0
                _ = try? checkedCall("waitpid") { waitpid(pid, &status, 0) }
                throw failure
            }
            return pid
        } catch {
            throw NamespaceError(command, error)
        }
    }
}
