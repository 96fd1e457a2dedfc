import Foundation
import Glibc
import MailLabTestSupport

/// A private Postfix (Debian's postfix 3.7) for interop tests: its own configuration
/// directory, queue and data directory inside `root`, its log in `root/maillog`, an SMTP
/// listener only where `listen` says (nil: none; mail then comes in through `sendmail -C`),
/// and nothing relayed anywhere the test did not name: `mydestination` is empty, mynetworks
/// is 127.0.0.1/32, a message for no configured destination goes to the `error` transport
/// unless the test sets `relayhost` or a transport of its own, and Postfix makes no DNS
/// lookup (next hops are address literals; clients' names are not looked up).
///
/// Started with `postfix -c DIR start`; `stop()` runs `postfix -c DIR stop` and waits until
/// every process of the master's tree is gone (SIGKILL, by pid, for any left after 15 s).
final class PostfixInstance {
    let root: String
    let listen: (host: String, port: UInt16)?
    /// The network namespace the master (and so every daemon it starts) runs in; nil: the
    /// test's own.
    let namespace: String?
    var configDirectory: String { root + "/conf" }
    var maillog: String { root + "/maillog" }
    /// Virtual mailboxes (`virtualMailbox`) live here, one Maildir per user.
    var mailboxBase: String { root + "/vmail" }
    private(set) var masterPID: Int32 = 0

    /// `settings`: main.cf lines that replace or add to the private base.
    init(
        in directory: TempDir, name: String, hostname: String,
        listen: (host: String, port: UInt16)? = nil, namespace: String? = nil,
        settings: [String] = []
    ) throws {
        root = directory.path + "/" + name
        self.listen = listen
        self.namespace = namespace
        let files = FileManager.default
        for sub in ["conf", "spool", "data", "vmail"] {
            try files.createDirectory(
                atPath: root + "/" + sub, withIntermediateDirectories: true)
        }
        // Postfix's daemons run as `postfix` and `nobody`: the path down to the queue and
        // the mailboxes must be searchable; the data directory and mailboxes theirs.
        for path in [directory.path, root, root + "/spool"] { chmod(path, 0o755) }
        // getpwnam returns one static buffer: copy each entry's ids before the next call.
        guard let postfix = getpwnam("postfix").map({ ($0.pointee.pw_uid, $0.pointee.pw_gid) }),
            let nobody = getpwnam("nobody").map({ ($0.pointee.pw_uid, $0.pointee.pw_gid) })
        else { throw TestFailure("the postfix or nobody user does not exist") }
        chown(root + "/data", postfix.0, postfix.1)
        chown(root + "/vmail", nobody.0, nobody.1)
        let main =
            [
                "compatibility_level = 3.6",
                "queue_directory = \(root)/spool",
                "data_directory = \(root)/data",
                "command_directory = /usr/sbin",
                "daemon_directory = /usr/lib/postfix/sbin",
                "meta_directory = /etc/postfix",
                "shlib_directory = /usr/lib/postfix",
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = \(hostname)",
                "mydomain = \(hostname)",
                "myorigin = \(hostname)",
                "inet_interfaces = \(listen?.host ?? "127.0.0.1")",
                "inet_protocols = ipv4",
                "mydestination =",
                "mynetworks = 127.0.0.1/32",
                "mynetworks_style = host",
                "relayhost =",
                "default_transport = error:not relayed by this test",
                "relay_transport = error:not relayed by this test",
                "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
                "alias_maps =",
                "alias_database =",
                "biff = no",
                "smtpd_banner = $myhostname ESMTP Postfix",
                // No DNS at all: next hops are address literals, clients are not looked up
                // (a namespace's resolver would be the host's, off the lab).
                "smtp_dns_support_level = disabled",
                "smtp_host_lookup = native",
                "smtpd_peername_lookup = no",
                "virtual_mailbox_base = \(root)/vmail",
                "virtual_uid_maps = static:\(nobody.0)",
                "virtual_gid_maps = static:\(nobody.1)",
                "virtual_minimum_uid = 1",
                // Retries come fast in a test: a deferred message is tried again within
                // seconds, so a test that fixes the next hop does not wait for minutes.
                "queue_run_delay = 1s",
                "minimal_backoff_time = 1s",
                "maximal_backoff_time = 2s",
                "maillog_file = \(root)/maillog",
                "maillog_file_prefixes = \(root)",
            ]
        // A setting of the test replaces the base's line (Postfix would warn about both).
        let key = { (line: String) in line.split(separator: "=").first?.trimmed ?? "" }
        let replaced = Set(settings.map(key))
        let lines = main.filter { !replaced.contains(key($0)) } + settings
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: configDirectory + "/main.cf", atomically: false, encoding: .utf8)
        var master = [
            "pickup    unix n - n 60 1 pickup",
            "cleanup   unix n - n - 0 cleanup",
            "qmgr      unix n - n 300 1 qmgr",
            "rewrite   unix - - n - - trivial-rewrite",
            "bounce    unix - - n - 0 bounce",
            "defer     unix - - n - 0 bounce",
            "trace     unix - - n - 0 bounce",
            "verify    unix - - n - 1 verify",
            "flush     unix n - n 1000? 0 flush",
            "proxymap  unix - - n - - proxymap",
            "showq     unix n - n - - showq",
            "error     unix - - n - - error",
            "retry     unix - - n - - error",
            "discard   unix - - n - - discard",
            "smtp      unix - - n - - smtp",
            "relay     unix - - n - - smtp",
            "virtual   unix - n n - - virtual",
            "anvil     unix - - n - 1 anvil",
            "scache    unix - - n - 1 scache",
            "tlsmgr    unix - - n 1000? 1 tlsmgr",
            "postlog   unix-dgram n - n - 1 postlogd",
        ]
        if let listen { master.insert("\(listen.host):\(listen.port) inet n - n - - smtpd", at: 0) }
        try (master.joined(separator: "\n") + "\n").write(
            toFile: configDirectory + "/master.cf", atomically: false, encoding: .utf8)
    }

    /// Adds `lines` to main.cf (before `start`), for settings that need the instance's paths.
    func appendSettings(_ lines: [String]) throws {
        let handle = try FileHandle(
            forWritingTo: URL(fileURLWithPath: configDirectory + "/main.cf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// `postfix -c DIR start` (under `ip netns exec NS` with a namespace); waits for the
    /// master's pid file and, with a listener, a banner (in a namespace: the master's
    /// "daemon started", logged after it has bound its listeners).
    func start() throws {
        let command = ["/usr/sbin/postfix", "-c", configDirectory, "start"]
        let result =
            if let namespace {
                try runUnblocked(ExternalTool.ip.path, ["netns", "exec", namespace] + command)
            } else {
                try runUnblocked(command[0], Array(command.dropFirst()))
            }
        guard result.status == 0 else {
            throw TestFailure("postfix start: \(result.status) \(result.errors)\(log)")
        }
        let pidFile = root + "/spool/pid/master.pid"
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = readText(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)
            if let pid = Int32(text), isAlive(pid) {
                masterPID = pid
                break
            }
            usleep(50_000)
        }
        guard masterPID != 0 else { throw TestFailure("postfix master did not start: \(log)") }
        guard let listen else { return }
        if namespace != nil {
            guard waitForLog("postfix/master[\(masterPID)]: daemon started", timeout: 20) else {
                throw TestFailure("postfix master did not report its start: \(log)")
            }
            return
        }
        while Date() < deadline {
            if let client = try? LineClient(host: listen.host, port: listen.port, timeout: 2),
                let banner = try? client.readReply(), banner.first?.hasPrefix("220") == true
            {
                _ = try? client.command("QUIT")
                return
            }
            usleep(50_000)
        }
        throw TestFailure("postfix did not greet on \(listen.host):\(listen.port): \(log)")
    }

    /// `postfix -c DIR stop`, then waits until no process of the master's tree is left: a
    /// daemon still serving a session (postfix stop lets it finish) gets SIGTERM after 5 s,
    /// SIGKILL after 10 s. Idempotent.
    func stop() {
        guard masterPID != 0 else { return }
        let tree = processTree(masterPID)
        _ = try? runUnblocked("/usr/sbin/postfix", ["-c", configDirectory, "stop"])
        for (wait, signal) in [(5.0, SIGTERM), (5.0, SIGKILL)] {
            let deadline = Date().addingTimeInterval(wait)
            while Date() < deadline && tree.contains(where: isAlive) { usleep(50_000) }
            for pid in tree where isAlive(pid) { kill(pid, signal) }
        }
        masterPID = 0
    }

    /// Hands `message` to Postfix the way a local program does: `sendmail -C DIR -f FROM TO…`.
    func sendmail(
        from sender: String, to recipients: [String], message: String, options: [String] = []
    ) throws {
        let result = try runUnblocked(
            "/usr/sbin/sendmail", ["-C", configDirectory, "-f", sender] + options + recipients,
            input: message)
        guard result.status == 0 else {
            throw TestFailure("sendmail: \(result.status) \(result.output)\(result.errors)")
        }
    }

    /// The map file `name` in the configuration directory (`texthash:` needs no postmap).
    func writeMap(_ name: String, _ lines: [String]) throws -> String {
        let path = configDirectory + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
        return "texthash:" + path
    }

    var log: String { readText(maillog) }

    func waitForLog(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return log.contains(text)
    }
}

/// Runs `program` with an empty signal mask: tests' threads block SIGTERM, a mask that a
/// child inherits, and Postfix's master and smtp-sink must die by SIGTERM. Python's
/// `pthread_sigmask` clears it just before the exec.
func runUnblocked(_ program: String, _ arguments: [String], input: String? = nil) throws
    -> ProgramOutput
{
    try runToEnd(
        "/usr/bin/python3",
        ["-c", unblockingExec, program] + arguments, input: input)
}

/// The Python body of `runUnblocked`, also usable to start long-running children.
let unblockingExec = """
    import os, signal, sys
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.execv(sys.argv[1], sys.argv[1:])
    """

/// Whether `pid` runs: it exists and is no zombie (a daemon's children, reparented to a PID 1
/// that may not reap them here, linger as zombies after they exited).
func isAlive(_ pid: Int32) -> Bool {
    let stat = readText("/proc/\(pid)/stat")
    guard let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(after: close)...].split(separator: " ").first
    return state != nil && state != "Z" && state != "X"
}

/// `pid` and its descendants, from /proc.
func processTree(_ pid: Int32) -> [Int32] {
    var children: [Int32: [Int32]] = [:]
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let child = Int32(entry) else { continue }
        let stat = readText("/proc/\(entry)/stat")
        guard let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = Int32(fields[1]) {
            children[parent, default: []].append(child)
        }
    }
    var out: [Int32] = []
    var todo = [pid]
    while let next = todo.popLast() {
        out.append(next)
        todo += children[next] ?? []
    }
    return out
}

extension Substring {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespaces) }
}
