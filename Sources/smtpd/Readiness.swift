import Glibc
import LinuxSystem

/// Tells a supervisor that smtpd is ready — every listener bound — with systemd's protocol:
/// a datagram `READY=1` to the unix socket named by `NOTIFY_SOCKET` (a path, or `@name` for
/// an abstract socket), as sd_notify(3) sends it. Scripts, labs and `systemd-run
/// --service-type=notify` then never sleep or poll for the port.
enum Readiness {
    static func notifySupervisor() throws(SystemError) {
        guard let name = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !name.isEmpty
        else { return }
        let target = SocketAddress.unix(path: name)
        let fd = try checkedCall("socket", "AF_UNIX") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        defer { closeDescriptor(fd) }
        let message = Array("READY=1\nMAINPID=\(getpid())\n".utf8)
        _ = try target.withSockaddr { address, length throws(SystemError) in
            try checkedCall("sendto", name) {
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), address, length)
            }
        }
    }
}
