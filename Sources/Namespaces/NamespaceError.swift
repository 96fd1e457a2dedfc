import LinuxSystem

/// A failed namespace operation, phrased like the iproute2 command that would have done the
/// same: `ip netns add gruen: mount /run/netns/gruen: Operation not permitted`.
public struct NamespaceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The iproute2 equivalent: `ip netns add gruen`, `ip netns exec gruen …`.
    public var command: String
    /// The system call that failed, with its object.
    public var cause: SystemError
    /// Why, where errno alone does not say it ("invalid namespace name \"a/b\"").
    public var detail: String?

    public init(_ command: String, _ cause: SystemError, detail: String? = nil) {
        self.command = command
        self.cause = cause
        self.detail = detail
    }

    public var errno: Int32 { cause.errno }

    public var description: String {
        var text = cause.operation.isEmpty ? "\(command): \(cause.reason)" : "\(command): \(cause)"
        if let detail { text += " (\(detail))" }
        return text
    }
}
