import Glibc

/// A failed system call: the operation (named like the C function), the object it worked on
/// (a path, an address, a namespace) and errno. The one error type of every system-facing
/// module; higher layers wrap it in their own words (`NetlinkError`'s iproute2 phrasing,
/// a delivery status), never copy it.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function (or the step) that failed: "open", "fsync", "connect", "setns".
    public var operation: String
    /// What it worked on, if anything names it better than the operation alone.
    public var object: String?
    public var errno: Int32

    public init(_ operation: String, _ object: String? = nil, errno: Int32) {
        self.operation = operation
        self.object = object
        self.errno = errno
    }

    /// The C library's text for `errno` ("No space left on device").
    public var reason: String { Self.text(errno) }

    /// "fsync /x/tmp/NAME: No space left on device"
    public var description: String {
        if let object { return "\(operation) \(object): \(reason)" }
        return "\(operation): \(reason)"
    }

    /// strerror(3).
    public static func text(_ errno: Int32) -> String { String(cString: strerror(errno)) }
}
