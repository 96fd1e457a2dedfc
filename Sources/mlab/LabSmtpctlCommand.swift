import ArgumentParser
import Glibc
import Lab
import LinuxSystem

/// `mlab lab smtpctl FILE NS VERB…`: smtpctl against the lab's smtpd in NS, without knowing
/// where its control socket is (`smtpctl -s SOCKET VERB…`, the socket `up` gave it).
struct LabSmtpctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpctl",
        abstract: "Run smtpctl against the lab's smtpd in a namespace (e.g. blau show queue).",
        discussion: """
            Runs the smtpctl next to mlab (else from PATH) as smtpctl -s SOCKET VERB…, with \
            the control socket lab up gave that smtpd. With several smtpds in one namespace, \
            --line names the statement's line.
            """)
    @OptionGroup var lab: LabCommand.LabOptions
    @Argument(help: "The namespace of the smtpd, as the lab file names it.") var namespace: String
    @Option(help: "The line of the smtpd statement, when the namespace has several.") var line: Int?
    @Argument(parsing: .captureForPassthrough, help: "smtpctl's verb and its words.")
    var words: [String] = []

    func run() throws {
        // Everything after NS is smtpctl's, but `--line N` right after NS, and a `--`, are
        // still mlab's.
        var words = self.words
        var line = self.line
        if words.first == "--line", words.count >= 2, let number = Int(words[1]) {
            line = number
            words.removeFirst(2)
        }
        if words.first == "--" { words.removeFirst() }
        let spec = try lab.load()
        let smtpds = spec.servers.filter {
            if case .smtpd = $0.kind { return true }
            return false
        }
        let here = smtpds.filter {
            spec.renaming.fileName(ofNamespace: $0.namespace) == namespace
                && (line == nil || $0.line == line)
        }
        guard here.count == 1, let server = here.first,
            let socket = Lab.controlSocket(of: server, in: spec)
        else {
            let known = smtpds.map {
                "\(spec.renaming.fileName(ofNamespace: $0.namespace)) (line \($0.line))"
            }
            let reason =
                here.isEmpty
                ? "no smtpd in \(namespace)" + (line.map { " on line \($0)" } ?? "")
                : "\(here.count) smtpds in \(namespace): name one with --line"
            throw VerbError(
                description: "mlab lab smtpctl: \(lab.file): \(reason)"
                    + (known.isEmpty
                        ? " (the lab has none)" : " (smtpds: \(known.joined(separator: ", ")))"))
        }
        let program = Self.smtpctlPath()
        let arguments = [program, "-s", socket] + words
        var pointers = arguments.map { strdup($0) } + [nil]
        execvp(program, &pointers)
        throw VerbError(
            description:
                "mlab lab smtpctl: cannot run \(program): \(String(cString: strerror(errno)))")
    }

    /// smtpctl next to mlab, else from PATH.
    static func smtpctlPath() -> String {
        if let executable = FileSystem.currentExecutable(),
            let slash = executable.lastIndex(of: "/")
        {
            let candidate = String(executable[...slash]) + "smtpctl"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return "smtpctl"
    }
}
