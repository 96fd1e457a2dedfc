import ArgumentParser
import Glibc
import Lab
import LinuxSystem
import Namespaces

extension LabCommand {
    /// `mlab lab shell FILE`: a tmux session with a window per namespace of the lab, each
    /// already inside its namespace with the name in the prompt — the course's "four terminal
    /// tabs side by side". Closing it leaves the lab up.
    struct Shell: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shell",
            abstract: "A tmux session: one window per namespace of the lab, inside it.",
            discussion: """
                Each window runs bash inside its namespace (as `mlab netns exec NS -- bash`) \
                with `[NAME]` in the prompt; the host has a window too if the lab uses it. \
                Ctrl-b n / p switch windows; leaving tmux (or killing the session) leaves the \
                lab up. The lab must be up.
                """)
        @OptionGroup var lab: LabCommand.LabOptions
        @Option(help: "The tmux session's name (default: mlab-LAB).") var session: String?
        @Option(help: "A tmux server socket name of its own (tmux -L), e.g. for scripts.")
        var tmuxSocket: String?
        @Flag(help: "Create the session but do not attach to it.") var detached = false

        func run() throws {
            let spec = try lab.load()
            let missing = spec.namespaces.map(\.name).filter { !NetworkNamespace.exists($0) }
            if !missing.isEmpty {
                throw ValidationError(
                    "lab \(spec.name) is not up (no namespace \(missing[0])): mlab lab up \(lab.file)"
                )
            }
            let name = session ?? "mlab-\(spec.instanceName)"
            let socket = tmuxSocket.map { ["-L", $0] } ?? []
            var arguments = ["tmux"] + socket
            for (index, namespace) in spec.allNamespaces.enumerated() {
                let title = spec.renaming.fileName(ofNamespace: namespace)
                let create =
                    index == 0
                    ? ["new-session", "-d", "-s", name, "-n", title]
                    : [";", "new-window", "-t", name, "-n", title]
                arguments += create + [Self.shellCommand(namespace: namespace, title: title)]
            }
            arguments += [";", "select-window", "-t", "\(name):0"]
            try Self.run(arguments)
            guard !detached else {
                print(
                    "lab \(spec.name): tmux session \(name) (tmux \((socket + ["attach", "-t", name]).joined(separator: " ")))"
                )
                return
            }
            let attach = ["tmux"] + socket + ["attach", "-t", name]
            var argv: [UnsafeMutablePointer<CChar>?] = attach.map { strdup($0) } + [nil]
            execvp("tmux", &argv)
            throw ValidationError("tmux attach: \(SystemError.text(errno))")
        }

        /// bash inside `namespace` with its file name in the prompt (rc files skipped, so that
        /// the prompt stays).
        static func shellCommand(namespace: String?, title: String) -> String {
            let prompt = quote("[\(title)] \\w# ")
            let bash = "env PS1=\(prompt) bash --norc --noprofile -i"
            guard let namespace else { return "exec \(bash)" }
            return
                "exec \(quote(FileSystem.currentExecutable() ?? "mlab")) netns exec \(quote(namespace)) -- \(bash)"
        }

        /// Single quotes for sh, with any single quote written as '\''.
        static func quote(_ text: String) -> String {
            "'"
                + text.split(separator: "'", omittingEmptySubsequences: false).joined(
                    separator: "'\\''") + "'"
        }

        /// Runs tmux to its end; its output goes to ours.
        static func run(_ arguments: [String]) throws {
            let pid: pid_t
            do {
                pid = try NetworkNamespace.spawn(nil, arguments: arguments, output: 2)
            } catch {
                throw ValidationError("cannot start tmux: \(error) (Debian package tmux)")
            }
            var status: Int32 = 0
            _ = try? checkedCall("waitpid") { waitpid(pid, &status, 0) }
            if status != 0 { throw ValidationError("tmux failed (status \(status >> 8))") }
        }
    }
}

extension LabCommand.Shell: PrivilegedVerb {}
