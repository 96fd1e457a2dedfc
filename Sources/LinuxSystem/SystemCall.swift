import Glibc

/// Runs a system call that reports failure as a negative result and errno. EINTR is retried
/// (the one retry loop of the project; `close` is never retried, see `closeDescriptor`).
/// With `blocking`, EAGAIN/EWOULDBLOCK return nil: "would block" is a value, not an error
/// (as SwiftNIO's `syscall(blocking:)`).
@inlinable @inline(__always)
public func systemCall<T: FixedWidthInteger>(
    _ operation: @autoclosure () -> String, _ object: @autoclosure () -> String? = nil,
    blocking: Bool = false, _ body: () -> T
) throws(SystemError) -> T? {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        if blocking && (code == EAGAIN || code == EWOULDBLOCK) { return nil }
        throw SystemError(operation(), object(), errno: code)
    }
}

/// `systemCall` for calls that never report "would block".
@inlinable @inline(__always)
public func checkedCall<T: FixedWidthInteger>(
    _ operation: @autoclosure () -> String, _ object: @autoclosure () -> String? = nil,
    _ body: () -> T
) throws(SystemError) -> T {
    // Without `blocking`, `systemCall` never returns nil.
    try systemCall(operation(), object(), body)!
}

/// Closes a descriptor. Never retried on EINTR: on Linux the descriptor is gone anyway, and a
/// retry could close a descriptor another thread just opened.
@inlinable
public func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// close(2) with its error reported (a file's last write-back error can surface here).
public func closeChecked(_ fd: Int32, _ object: String? = nil) throws(SystemError) {
    if Glibc.close(fd) != 0 && errno != EINTR {
        throw SystemError("close", object, errno: errno)
    }
}
