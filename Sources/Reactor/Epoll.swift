import CSystem
import Glibc
import LinuxSystem

/// Readiness interest of a registration.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let read = Interest(rawValue: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
    public static let write = Interest(rawValue: EPOLLOUT.rawValue)
    /// A listening socket shared by several loops: readable, and wake only one of the loops
    /// (EPOLLEXCLUSIVE, which allows no EPOLLRDHUP beside it; epoll_ctl(2)).
    static let acceptExclusive = Interest(rawValue: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)
}

/// What one readiness event reports.
public struct Readiness: Sendable {
    public var readable: Bool
    public var writable: Bool
    /// Error or hang-up on the descriptor (EPOLLERR/EPOLLHUP).
    public var failed: Bool
}

/// A thin wrapper over one epoll instance, level-triggered.
final class Epoll {
    let fd: Int32

    init() throws(SystemError) {
        fd = try checkedCall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    deinit { closeDescriptor(fd) }

    func add(_ target: Int32, interest: Interest, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_ADD, target, interest, token)
    }

    func modify(_ target: Int32, interest: Interest, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_MOD, target, interest, token)
    }

    func remove(_ target: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, target, &event)
    }

    private func control(_ op: Int32, _ target: Int32, _ interest: Interest, _ token: UInt64)
        throws(SystemError)
    {
        var event = epoll_event()
        event.events = interest.rawValue
        event.data.u64 = token
        _ = try checkedCall("epoll_ctl") { epoll_ctl(fd, op, target, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` per event.
    func wait(
        into buffer: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32,
        _ body: (UInt64, Readiness) -> Void
    ) throws(SystemError) {
        let count =
            try systemCall("epoll_wait", blocking: true) {
                epoll_wait(fd, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
            } ?? 0
        for i in 0..<Int(count) {
            let event = buffer[i]
            let flags = event.events
            let failed = flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
            let readable = flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0
            let writable = flags & EPOLLOUT.rawValue != 0
            body(
                event.data.u64,
                Readiness(readable: readable, writable: writable, failed: failed))
        }
    }
}
