import Glibc
public import LinuxSystem
import Namespaces

/// A lab server as the lab's state file records it: the pid with the process's start time,
/// so that a pid the kernel has since given to another process is never signalled.
public struct LabServerRecord: Sendable, Equatable {
    /// The lab file line of its statement.
    public var line: Int
    public var pid: pid_t
    /// Clock ticks after boot at which the process started (`/proc/PID/stat` field 22).
    public var startTime: UInt64
    /// Its stdout and stderr, under the lab's state directory.
    public var log: String

    public init(line: Int, pid: pid_t, startTime: UInt64, log: String) {
        self.line = line
        self.pid = pid
        self.startTime = startTime
        self.log = log
    }
}

extension LabServerRecord {
    /// True while the recorded process runs (same pid and start time, not a zombie).
    public var isRunning: Bool { LabServerProcess.isRunning(self) }

    /// Stops it: SIGTERM, SIGKILL after a grace time. False if it was not running.
    ///
    /// Equivalent to: `kill PID; sleep GRACE; kill -KILL PID`
    public func stop() throws(SystemError) -> Bool { try LabServerProcess.stop(self) }
}

/// Starting, watching and stopping lab servers.
enum LabServerProcess {
    /// How long `up` waits for a server to say it is ready.
    static let readyTimeout = 10.0
    /// How long `down` gives a server between SIGTERM and SIGKILL.
    static let stopGrace = 3.0
    /// How many lines of its log an error about a server shows.
    static let logLinesShown = 8

    /// The lab instance's directory beside its state file, for logs and notify sockets.
    static func directory(of lab: String) -> String { "\(LabState.directory)/\(lab)" }

    static func logPath(of server: LabServer, in spec: LabSpec) -> String {
        let namespace = spec.renaming.fileName(ofNamespace: server.namespace)
        return
            "\(directory(of: spec.instanceName))/\(server.program)@\(namespace).line\(server.line).log"
    }

    /// An smtpd's control socket (`smtpd -s`), beside its log: each smtpd of each lab has its
    /// own, so several run at once and `smtpctl -s PATH` reaches the one meant. Named by line
    /// (not by namespace) so the path stays well under the 107 bytes of a unix socket path.
    static func controlSocket(of server: LabServer, in spec: LabSpec) -> String? {
        guard case .smtpd = server.kind else { return nil }
        return "\(directory(of: spec.instanceName))/smtpd.line\(server.line).sock"
    }

    // MARK: Watching

    /// The process's state letter and start time, from `/proc/PID/stat`; nil if there is none.
    static func processStat(_ pid: pid_t) -> (state: UInt8, startTime: UInt64)? {
        guard let bytes = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // After "PID (COMM) " come the fields from 3 (state) on; COMM may hold blanks and
        // parentheses, hence the last ")".
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
            let start = UInt64(String(decoding: fields[19], as: UTF8.self))
        else { return nil }
        return (state, start)
    }

    /// True while the recorded process runs. A zombie counts as gone (and is reaped when it
    /// is ours); a pid with another start time is another process.
    static func isRunning(_ record: LabServerRecord) -> Bool {
        guard let stat = processStat(record.pid), stat.startTime == record.startTime else {
            return false
        }
        if stat.state == UInt8(ascii: "Z") || stat.state == UInt8(ascii: "X") {
            var status: Int32 = 0
            _ = waitpid(record.pid, &status, WNOHANG)
            return false
        }
        return true
    }

    // MARK: Stopping

    /// Stops the recorded process: SIGTERM, then SIGKILL after `stopGrace`. Returns false if
    /// it was not running. Throws only if it survives SIGKILL.
    static func stop(_ record: LabServerRecord) throws(SystemError) -> Bool {
        guard isRunning(record) else { return false }
        for (signal, grace) in [(SIGTERM, stopGrace), (SIGKILL, 2.0)] {
            if kill(record.pid, signal) != 0 && errno != ESRCH {
                throw SystemError("kill", "\(record.pid)", errno: errno)
            }
            let deadline = Clock.monotonicSeconds() + grace
            while isRunning(record) && Clock.monotonicSeconds() < deadline {
                Clock.sleep(seconds: 0.01)
            }
            if !isRunning(record) { return true }
        }
        throw SystemError("kill -KILL", "\(record.pid)", errno: EBUSY)
    }

    // MARK: Starting

    /// Starts `server` with its output appended to its log and waits until it is ready:
    /// smtpd's `READY=1` on a notify socket (sd_notify(3)'s protocol, which smtpd speaks once
    /// every listener is bound); for `run`, having exec'd. On failure the process is gone
    /// and the error names the statement and shows the end of the log.
    static func start(_ server: LabServer, in spec: LabSpec, smtpd: String)
        throws(LabError) -> LabServerRecord
    {
        let summary = server.summary(spec.renaming)
        let location = spec.location(server.line)
        let log = logPath(of: server, in: spec)
        let directory = directory(of: spec.instanceName)
        func failure(_ text: String) -> LabError {
            LabError(location: location, message: "\(summary): \(text)")
        }
        let output: Int32
        do {
            try LabState.makeDirectory(directory)
            output = try FileSystem.open(
                log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode: 0o644)
        } catch {
            throw failure("cannot open its log: \(error)")
        }
        defer { closeDescriptor(output) }
        let banner = Array("--- mlab lab up: \(summary) (\(location))\n".utf8)
        banner.withUnsafeBytes { _ = try? FileSystem.writeAll(output, $0, path: log) }

        var arguments: [String]
        var notify: (fd: Int32, path: String)?
        switch server.kind {
        case .smtpd(let config):
            arguments = [smtpd, "-d", "-f", config]
            if let socket = controlSocket(of: server, in: spec) { arguments += ["-s", socket] }
            do {
                notify = try openNotifySocket("\(directory)/notify.line\(server.line).sock")
            } catch {
                throw failure("cannot make its notify socket: \(error)")
            }
        case .run(let command):
            arguments = command
        case .dhcpServer(let dhcp):
            arguments = dhcp.arguments(leaseFile: leaseFile(of: server, in: spec))
        }
        defer {
            if let notify {
                closeDescriptor(notify.fd)
                unlink(notify.path)
            }
        }
        let pid: pid_t
        do {
            pid = try NetworkNamespace.spawn(
                server.namespace, arguments: arguments,
                environment: notify.map { ["NOTIFY_SOCKET=\($0.path)"] } ?? [], output: output)
        } catch {
            throw failure("cannot start: \(error)")
        }
        guard let stat = processStat(pid) else {
            throw failure("exited at once" + tail(of: log))
        }
        let record = LabServerRecord(
            line: server.line, pid: pid, startTime: stat.startTime, log: log)
        if let notify {
            if let problem = waitReady(notify.fd, record) {
                _ = try? stop(record)
                throw failure(problem + tail(of: log))
            }
        }
        if case .dhcpServer = server.kind, let problem = waitBound(udpPort: 67, record) {
            _ = try? stop(record)
            throw failure(problem + tail(of: log))
        }
        return record
    }

    /// A DHCP server's lease file, beside its log.
    static func leaseFile(of server: LabServer, in spec: LabSpec) -> String {
        let namespace = spec.renaming.fileName(ofNamespace: server.namespace)
        return
            "\(directory(of: spec.instanceName))/\(server.program)@\(namespace).line\(server.line).leases"
    }

    /// Waits until the process's namespace has a UDP socket on `port` (dnsmasq says nothing
    /// when it is ready; its bound port 67 is the sign), read from /proc/PID/net/udp: no
    /// namespace hop. Nil when bound, else why not.
    private static func waitBound(udpPort port: UInt16, _ record: LabServerRecord) -> String? {
        let deadline = Clock.monotonicSeconds() + readyTimeout
        let hex = String(port, radix: 16, uppercase: true)
        let suffix = ":" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        while Clock.monotonicSeconds() < deadline {
            if let table = try? FileSystem.readFile("/proc/\(record.pid)/net/udp", limit: 1 << 20) {
                let bound = String(decoding: table, as: UTF8.self).split(separator: "\n")
                    .contains { line in
                        let fields = line.split(separator: " ")
                        return fields.count > 1 && fields[1].hasSuffix(suffix)
                    }
                if bound { return nil }
            }
            var status: Int32 = 0
            if waitpid(record.pid, &status, WNOHANG) == record.pid || !isRunning(record) {
                return "exited before it was ready"
            }
            Clock.sleep(seconds: 0.01)
        }
        return "not ready after \(Int(readyTimeout)) seconds (no UDP socket on port \(port))"
    }

    /// A bound unix datagram socket at `path` (a stale one from a crash is replaced).
    private static func openNotifySocket(_ path: String) throws(SystemError) -> (Int32, String) {
        unlink(path)
        let fd = try checkedCall("socket", "AF_UNIX") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemError) {
            _ = try SocketAddress.unix(path: path).withSockaddr {
                address, length throws(SystemError) in
                try checkedCall("bind", path) { bind(fd, address, length) }
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return (fd, path)
    }

    /// Waits for `READY=1`; nil when it came, else why not (exited, timed out).
    private static func waitReady(_ fd: Int32, _ record: LabServerRecord) -> String? {
        let deadline = Clock.monotonicSeconds() + readyTimeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Clock.monotonicSeconds() < deadline {
            var event = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = (try? checkedCall("poll") { poll(&event, 1, 50) }) ?? 0
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { raw in
                    (try? checkedCall("recv") { recv(fd, raw.baseAddress, raw.count, 0) }) ?? 0
                }
                let message = String(decoding: buffer[..<count], as: UTF8.self)
                if message.split(separator: "\n").contains("READY=1") { return nil }
                continue
            }
            var status: Int32 = 0
            if waitpid(record.pid, &status, WNOHANG) == record.pid {
                let signal = status & 0x7F
                return signal == 0
                    ? "exited with status \((status >> 8) & 0xFF) before it was ready"
                    : "killed by signal \(signal) before it was ready"
            }
            if !isRunning(record) { return "exited before it was ready" }
        }
        return "not ready after \(Int(readyTimeout)) seconds (no READY=1 on NOTIFY_SOCKET)"
    }

    /// "; its log ends:" and its last lines, indented.
    static func tail(of log: String) -> String {
        guard let bytes = try? FileSystem.readFile(log, limit: 1 << 22, regularOnly: true) else {
            return " (log \(log) unreadable)"
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").suffix(
            logLinesShown)
        return "; its log ends:\n" + lines.map { "    \($0)" }.joined(separator: "\n")
    }

    /// smtpd next to the running program (mlab's own directory), else from PATH.
    static func smtpdPath() -> String {
        if let executable = FileSystem.currentExecutable(),
            let slash = executable.lastIndex(of: "/")
        {
            let candidate = String(executable[...slash]) + "smtpd"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return "smtpd"
    }
}
