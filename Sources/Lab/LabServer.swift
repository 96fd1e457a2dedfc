/// A process the lab runs inside one of its namespaces for as long as it is up: `smtpd NS
/// CONFIG` (MailLab's smtpd, ready when every listener is bound) or `run NS -- CMD ARGS…`
/// (any program, ready once it has started).
public struct LabServer: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `smtpd -d -f CONFIG`; the path is already resolved against the lab file's directory.
        case smtpd(config: String)
        /// The command line as written after `--`.
        case run([String])
    }

    /// The (renamed) namespace; nil for the real host.
    public var namespace: String?
    public var kind: Kind
    public var line: Int

    public init(namespace: String?, kind: Kind, line: Int) {
        self.namespace = namespace
        self.kind = kind
        self.line = line
    }

    /// The program's short name, for log file names and messages.
    public var program: String {
        switch kind {
        case .smtpd: return "smtpd"
        case .run(let command):
            return String(command[0].split(separator: "/").last ?? Substring(command[0]))
        }
    }

    /// The statement in the file's words: `smtpd gruen conf/smtpd.conf`.
    public func summary(_ renaming: LabRenaming) -> String {
        let namespace = renaming.fileName(ofNamespace: namespace)
        switch kind {
        case .smtpd(let config): return "smtpd \(namespace) \(config)"
        case .run(let command):
            return "run \(namespace) -- " + command.joined(separator: " ")
        }
    }
}
