import CSystem
import Glibc
import LinuxSystem
import Reactor
import Synchronization

/// Where smtpd serves smtpctl and who may use it.
public struct ControlSettings: Sendable {
    /// OpenSMTPD's `SMTPD_SOCKET`.
    public static let defaultPath = "/var/run/smtpd.sock"

    public var path: String
    /// Members of this group (primary or supplementary) may use the socket besides root; the
    /// socket is then `root:GROUP 0660`, else `0600`. MailLab's `control group` (OpenSMTPD
    /// lets every user connect and refuses the privileged commands to all but root).
    public var group: gid_t?
    /// The relay queue the queue verbs act on; nil: they answer that there is none.
    public var queue: (any QueueControl)?
    /// A socket at `path` bound and locked by smtpd's root parent (the process split): this
    /// process serves it and leaves the file and the lock to the parent.
    var adopted: Int32?

    public init(path: String = defaultPath, group: gid_t? = nil, queue: (any QueueControl)? = nil) {
        self.path = path
        self.group = group
        self.queue = queue
    }

    /// The id of group `name` (getgrnam_r); the error says that there is no such group.
    public static func groupID(named name: String) throws(ServerError) -> gid_t {
        var entry = Glibc.group()
        var found: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status = getgrnam_r(name, &entry, &buffer, buffer.count, &found)
        guard status == 0, found != nil else {
            throw ServerError(
                status == 0
                    ? "control group \(name): no such group"
                    : "control group \(name): getgrnam_r: \(String(cString: strerror(status)))")
        }
        return entry.gr_gid
    }
}

/// The bound control socket and its lock. The lock file (`PATH.lock`, flock(2)) tells a live
/// smtpd from a dead one: a socket file left by a smtpd that was killed is replaced, one of a
/// running smtpd is refused, without connecting to it (OpenSMTPD connects and unlinks, which
/// races between two starting servers).
final class ControlSocket: Sendable {
    let path: String
    private let listener: Listener
    private let lockFD: Int32
    private let closed = Atomic<Bool>(false)
    private let group: gid_t?
    /// This process made the socket file and holds its lock (false: adopted from the parent).
    private let owned: Bool
    /// The listening socket, for the process split's network side to adopt.
    var descriptor: Int32 { listener.descriptor }

    static func open(_ settings: ControlSettings) throws(ServerError) -> ControlSocket {
        let path = settings.path
        if let fd = settings.adopted {
            do {
                return ControlSocket(
                    path: path, listener: try Listener(adopting: fd), lockFD: -1,
                    group: settings.group, owned: false)
            } catch {
                throw ServerError("control socket \(path): \(error)")
            }
        }
        guard path.utf8.count <= 107 else {
            throw ServerError("control socket \(path): longer than 107 bytes")
        }
        let lockPath = path + ".lock"
        let lockFD: Int32
        do {
            lockFD = try FileSystem.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        } catch {
            throw ServerError("control socket \(path): \(error)")
        }
        var keepLock = false
        defer { if !keepLock { closeDescriptor(lockFD) } }
        do {
            _ = try checkedCall("flock", lockPath) { flock(lockFD, LOCK_EX | LOCK_NB) }
        } catch  where error.errno == EWOULDBLOCK {
            throw ServerError(
                "control socket \(path) is in use by a running smtpd (\(lockPath) is locked)")
        } catch {
            throw ServerError("control socket \(path): \(error)")
        }
        // No MailLab smtpd holds it; a server that takes no lock (OpenSMTPD itself) may
        // still listen there: ask, as OpenSMTPD's control_create_socket does.
        if isListening(path) {
            throw ServerError("control socket \(path): another server is listening on it")
        }
        // Ours now: whatever is at the path was left by a smtpd that is gone.
        if unlink(path) != 0 && errno != ENOENT {
            throw ServerError(
                "control socket \(path): cannot remove the stale socket: \(String(cString: strerror(errno)))"
            )
        }
        let listener: Listener
        do {
            listener = try Listener(address: .unix(path: path), backlog: 16)
        } catch {
            throw ServerError("control socket \(path): \(error)")
        }
        // The mode is the first fence, the peer's credentials (checked on every connection)
        // the one that counts: a moment between bind and chmod with the umask's mode does
        // not let anyone in.
        do {
            if let group = settings.group {
                _ = try checkedCall("chown", path) { chown(path, 0, group) }
                _ = try checkedCall("chmod", path) { chmod(path, 0o660) }
            } else {
                _ = try checkedCall("chmod", path) { chmod(path, 0o600) }
            }
        } catch {
            listener.close()
            unlink(path)
            throw ServerError("control socket \(path): \(error)")
        }
        keepLock = true
        return ControlSocket(
            path: path, listener: listener, lockFD: lockFD, group: settings.group, owned: true)
    }

    /// Whether something accepts connections on the unix socket at `path`.
    private static func isListening(_ path: String) -> Bool {
        guard
            let fd = try? checkedCall(
                "socket", "AF_UNIX",
                {
                    socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
                })
        else { return false }
        defer { closeDescriptor(fd) }
        let connected = try? SocketAddress.unix(path: path).withSockaddr {
            pointer, length throws(SystemError) in
            try checkedCall("connect", path) { connect(fd, pointer, length) }
        }
        return connected != nil
    }

    private init(path: String, listener: Listener, lockFD: Int32, group: gid_t?, owned: Bool) {
        self.owned = owned
        self.path = path
        self.listener = listener
        self.lockFD = lockFD
        self.group = group
    }

    func start(on loop: EventLoop, service: ControlService) {
        let group = self.group
        listener.start(
            on: [loop],
            accepted: { fd, _, loop in
                ControlConnection.accept(fd: fd, loop: loop, group: group, service: service)
            },
            failed: { error in service.log("warn: control: accept: \(error)") })
    }

    /// Stops accepting, removes the socket, releases the lock. Idempotent.
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        listener.close()
        guard owned else { return }
        unlink(path)
        closeDescriptor(lockFD)
    }
}

/// Who is at the other end of a control connection: the kernel's record of the connecting
/// process (SO_PEERCRED, SO_PEERGROUPS), not anything it says about itself.
struct ControlPeer: Sendable, Equatable {
    var pid: pid_t
    var uid: uid_t
    var gid: gid_t
    var groups: [gid_t]

    static func of(_ fd: Int32) throws(SystemError) -> ControlPeer {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        _ = try checkedCall("getsockopt SO_PEERCRED", "control socket") {
            csystem_peer_credentials(fd, &pid, &uid, &gid)
        }
        var groups = [gid_t](repeating: 0, count: 1024)
        let count = try checkedCall("getsockopt SO_PEERGROUPS", "control socket") {
            csystem_peer_groups(fd, &groups, Int32(groups.count))
        }
        return ControlPeer(pid: pid, uid: uid, gid: gid, groups: Array(groups.prefix(Int(count))))
    }

    /// Root, or a member of `group` by its primary or a supplementary group.
    func isAllowed(group: gid_t?) -> Bool {
        if uid == 0 { return true }
        guard let group else { return false }
        return gid == group || groups.contains(group)
    }
}
