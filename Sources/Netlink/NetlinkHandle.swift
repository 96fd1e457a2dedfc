import CMNL
import Glibc
import Namespaces
import Synchronization

/// An rtnetlink connection bound to one network namespace.
///
/// The socket is created on a dedicated thread that entered the namespace, so it belongs
/// to that namespace for life; after that the handle is usable from any thread or task
/// (requests are serialised). No `setns` ever runs on the caller's thread.
public final class NetlinkHandle: Sendable {
    /// The namespace this handle talks to; nil for the process's own (the main thread's).
    public let namespace: String?
    private let socket: Mutex<NetlinkSocket>

    /// Opens a handle on namespace `namespace` (nil: the process's own namespace).
    public init(namespace: String? = nil) throws(NetlinkError) {
        self.namespace = namespace
        let made: Result<NetlinkSocket, NetlinkError>
        do {
            made = try NetworkNamespace.perform(in: namespace) {
                Result { () throws(NetlinkError) in try NetlinkSocket() }
            }
        } catch {
            throw NetlinkError(error)
        }
        self.socket = Mutex(try made.get())
    }

    /// `ip` or `ip -n NAME`, the start of every operation name in errors.
    var ip: String { namespace.map { "ip -n \($0)" } ?? "ip" }

    func transact(
        type: Int, flags: Int32 = 0, operation: String,
        build: (MessageBuilder) -> Void,
        each: (UnsafePointer<nlmsghdr>) -> Void = { _ in }
    ) throws(NetlinkError) {
        try socket.withLock { (socket: inout NetlinkSocket) throws(NetlinkError) -> Void in
            try socket.transact(
                type: type, flags: flags, operation: operation, build: build, each: each)
        }
    }

    /// Sends a change and waits for the kernel's acknowledgement.
    func change(type: Int, flags: Int32 = 0, operation: String, build: (MessageBuilder) -> Void)
        throws(NetlinkError)
    {
        try transact(type: type, flags: flags | NLM_F_ACK, operation: operation, build: build)
    }

    /// Sends a dump request and returns what `parse` makes of each reply.
    func dump<T>(
        type: Int, operation: String, build: (MessageBuilder) -> Void,
        parse: (UnsafePointer<nlmsghdr>) -> T?
    ) throws(NetlinkError) -> [T] {
        var results: [T] = []
        try transact(type: type, flags: NLM_F_DUMP, operation: operation, build: build) { message in
            if let value = parse(message) { results.append(value) }
        }
        return results
    }
}
