import Glibc
import Namespaces

/// A failed netlink or namespace operation.
///
/// `operation` is the iproute2 command that would have done the same
/// (`ip link add aaa type veth peer name bbb`), so that the message reads like iproute2's:
/// `ip link add aaa type veth peer name bbb: File exists`.
public struct NetlinkError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The iproute2 equivalent of what failed, including the object.
    public var operation: String
    /// The errno the kernel (or libc) answered.
    public var errno: Int32
    /// The kernel's extended acknowledgement text (`NLMSGERR_ATTR_MSG`), if any.
    public var kernelMessage: String?

    public init(operation: String, errno: Int32, kernelMessage: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    /// A namespace step of a netlink operation (opening the handle's socket inside it).
    public init(_ error: NamespaceError) {
        self.init(operation: error.command, errno: error.errno, kernelMessage: error.detail)
        if !error.cause.operation.isEmpty {
            operation += ": \(error.cause.operation)"
            if let object = error.cause.object { operation += " \(object)" }
        }
    }

    public var description: String { "\(operation): \(reason)" }

    /// What went wrong without the operation: the errno's text and the kernel's explanation.
    public var reason: String {
        var text = String(cString: strerror(errno))
        if let kernelMessage, !kernelMessage.isEmpty { text += " (\(kernelMessage))" }
        return text
    }
}

/// Interface names are at most 15 bytes; the kernel answers a bare ERANGE, so we check first.
public let maximumInterfaceNameLength = 15

func validateInterfaceName(_ name: String, operation: @autoclosure () -> String)
    throws(NetlinkError)
{
    if name.utf8.count > maximumInterfaceNameLength || name.isEmpty || name.contains("/")
        || name.contains(" ")
    {
        throw NetlinkError(
            operation: operation(), errno: EINVAL,
            kernelMessage: "interface name \"\(name)\" must be 1 to 15 bytes without / or space")
    }
}

extension NetlinkError {
    /// Runs a namespace operation among netlink ones (a lab's steps mix both), its failure
    /// phrased the same way.
    public static func from<T>(_ body: () throws(NamespaceError) -> T) throws(NetlinkError) -> T {
        do {
            return try body()
        } catch {
            throw NetlinkError(error)
        }
    }
}
