import Glibc

/// A failed system call: the operation (named like the C function, plus its object where
/// one helps) and errno.
public struct SystemError: Error, Sendable, CustomStringConvertible, Equatable {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno)))"
    }
}

/// Runs a system call, retrying on EINTR. Returns nil for EAGAIN/EWOULDBLOCK when
/// `blocking` is true: "would block" is a value, not an error (as in SwiftNIO).
@inline(__always)
func retrying<T: FixedWidthInteger>(
    _ operation: @autoclosure () -> String, blocking: Bool = false, _ body: () -> T
) throws(SystemError) -> T? {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        if blocking && (code == EAGAIN || code == EWOULDBLOCK) { return nil }
        throw SystemError(operation(), errno: code)
    }
}

/// As `retrying` for calls that never report "would block".
@inline(__always)
func checked<T: FixedWidthInteger>(
    _ operation: @autoclosure () -> String, _ body: () -> T
) throws(SystemError) -> T {
    // `retrying` without `blocking` never returns nil.
    try retrying(operation(), body)!
}

/// Closes a descriptor. Never retried on EINTR: on Linux the descriptor is gone anyway.
public func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}
