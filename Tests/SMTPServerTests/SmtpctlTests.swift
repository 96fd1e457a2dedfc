import ControlProtocol
import Foundation
import Glibc
import MailLabTestSupport
import SMTPServer
import Testing

/// smtpctl, the real binary, against the real smtpd (and, for the queue verbs, against an
/// embedded server holding a `MemoryQueue`): verbs, who may use the socket, run-time log and
/// fault changes, encrypt's hashes through AUTH, stale and live sockets.
@Suite(
    .enabled(if: isRoot, "needs root (the control socket admits root; setpriv)"),
    .requires(.smtpd, .smtpctl, .setpriv))
struct SmtpctlTests {
    static let nobody: uid_t = 65_534

    /// A directory others may traverse (mkdtemp makes it 0700): the socket's own mode is
    /// then what decides who connects.
    private func directory(_ tag: String) throws -> TempDir {
        let directory = try TempDir(tag)
        chmod(directory.path, 0o755)
        return directory
    }

    /// Runs smtpctl with `arguments`; as `uid` with exactly `groups` (setpriv) if given.
    private func smtpctl(
        _ arguments: [String], as uid: uid_t? = nil, gid: gid_t? = nil, groups: [gid_t] = [],
        input: String? = nil
    ) throws -> ProgramResult {
        let path = ExternalTool.smtpctl.path
        guard let uid else { return try runProgram(path, arguments, input: input) }
        let groupOption =
            groups.isEmpty
            ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        return try runProgram(
            ExternalTool.setpriv.path,
            ["--reuid=\(uid)", "--regid=\(gid ?? uid)", groupOption, path] + arguments,
            input: input)
    }

    private func smtpd(_ directory: TempDir, socket: String, extra: String = "") throws
        -> SmtpdProcess
    {
        try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir") + "\n" + extra,
            directory: directory, extraArguments: ["-s", socket])
    }

    private func rcptReply(port: UInt16) throws -> String {
        let client = try LineClient(port: port)
        _ = try client.readReply()
        _ = try client.command("HELO x")
        _ = try client.command("MAIL FROM:<a@example.org>")
        return try client.command("RCPT TO:<root@localhost>")
    }

    @Test(
        "verbs against a running smtpd: stats count sessions and deliveries; queue verbs say there is no queue"
    )
    func verbsAgainstRunningSmtpd() throws {
        let directory = try directory("ctlverbs")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let server = try smtpd(directory, socket: socket)
        defer { server.stop() }
        #expect(server.waitForLog("info: control socket \(socket)"))

        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("HELO x")
        _ = try client.command("MAIL FROM:<a@example.org>")
        _ = try client.command("RCPT TO:<root@localhost>")
        _ = try client.command("DATA")
        #expect(try client.command("Subject: x\r\n\r\nbody\r\n.").hasPrefix("250 "))

        let stats = try smtpctl(["-s", socket, "show", "stats"])
        #expect(stats.status == 0)
        let lines = stats.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("scheduler.delivery.ok=1"))
        #expect(lines.contains("smtp.session=1"))  // the client above, still open
        #expect(lines.contains("control.session=1"))  // this smtpctl
        #expect(lines.contains { $0.hasPrefix("uptime=") })
        let names = lines.map { String($0.prefix { $0 != "=" }) }
        #expect(names == names.sorted())  // strcmp order of the names, as OpenSMTPD's tree

        for verb in [
            ["show", "queue"], ["schedule", "all"], ["remove", "0123abcd"], ["pause", "mta"],
        ] {
            let result = try smtpctl(["-s", socket] + verb)
            #expect(result.status == 1, "\(verb)")
            #expect(
                result.output
                    == "command failed: no relay queue: this configuration has no relay action\n")
        }
        // Words abbreviated to a unique prefix, as OpenSMTPD's smtpctl takes them.
        let abbreviated = try smtpctl(["-s", socket, "sh", "st"])
        #expect(abbreviated.status == 0 && abbreviated.output.contains("scheduler.delivery.ok=1\n"))
        #expect(
            try smtpctl(["-s", socket, "sc", "a"]).output.hasPrefix(
                "command failed: no relay queue"))
        #expect(try smtpctl(["-s", socket, "s", "queue"]).status != 0)  // show or schedule?
        // The option may come after the verb too; a bad id is refused before smtpd is asked.
        #expect(try smtpctl(["show", "stats", "-s", socket]).status == 0)
        let bad = try smtpctl(["-s", socket, "schedule", "12345"])
        #expect(bad.status != 0 && bad.errorOutput.contains("12345"))
        // No smtpd at a path: said, exit 1.
        let none = try smtpctl(["-s", directory.path + "/none.sock", "show", "stats"])
        #expect(none.status == 1 && none.errorOutput.contains("is smtpd running?"))
    }

    @Test(
        "a non-root user is refused: by the socket's mode, and by its credentials when the mode lets it in"
    )
    func nonRootUserIsRefused() throws {
        let directory = try directory("ctlperm")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let server = try smtpd(directory, socket: socket)
        defer { server.stop() }
        #expect(server.waitForLog("info: control socket"))
        var status = stat()
        #expect(stat(socket, &status) == 0 && status.st_mode & 0o777 == 0o600)

        let byMode = try smtpctl(["-s", socket, "show", "stats"], as: Self.nobody)
        #expect(byMode.status == 1)
        #expect(byMode.errorOutput.contains("Permission denied"))

        // A socket opened up by mistake still admits only root: SO_PEERCRED decides.
        chmod(socket, 0o666)
        let byCredentials = try smtpctl(["-s", socket, "log", "verbose"], as: Self.nobody)
        #expect(byCredentials.status == 1)
        #expect(
            byCredentials.output == "command failed: permission denied: uid 65534 is not root\n")
        #expect(server.waitForLog("warn: control: refused uid=65534"))
        #expect(!server.log.contains("command=\"log verbose\""))
        #expect(try smtpctl(["-s", socket, "show", "stats"]).status == 0)
    }

    @Test("control group: a member by its primary or a supplementary group is accepted, others not")
    func controlGroupMemberIsAccepted() throws {
        guard let group = try? ControlSettings.groupID(named: "mail") else {
            Issue.record("this system has no group mail")
            return
        }
        let directory = try directory("ctlgroup")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let server = try smtpd(directory, socket: socket, extra: "control group mail\n")
        defer { server.stop() }
        #expect(server.waitForLog("info: control socket"))
        var status = stat()
        #expect(stat(socket, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o660 && status.st_gid == group && status.st_uid == 0)

        let supplementary = try smtpctl(
            ["-s", socket, "show", "stats"], as: Self.nobody, groups: [group])
        #expect(supplementary.status == 0, "\(supplementary.output)\(supplementary.errorOutput)")
        #expect(supplementary.output.contains("control.session=1"))
        let primary = try smtpctl(["-s", socket, "show", "stats"], as: Self.nobody, gid: group)
        #expect(primary.status == 0, "\(primary.output)\(primary.errorOutput)")
        let outsider = try smtpctl(["-s", socket, "show", "stats"], as: Self.nobody)
        #expect(outsider.status == 1 && outsider.errorOutput.contains("Permission denied"))
        chmod(socket, 0o666)
        let outsiderInside = try smtpctl(["-s", socket, "show", "stats"], as: Self.nobody)
        #expect(
            outsiderInside.output
                == "command failed: permission denied: uid 65534 is neither root nor a member of group \(group)\n"
        )
    }

    /// Lines of `log` containing `text`.
    private func count(_ text: String, in log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains(text) }.count
    }

    @Test("log verbose makes smtpd log debug lines per session; log brief stops them")
    func logVerboseChangesWhatIsLogged() throws {
        let directory = try directory("ctllog")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let server = try smtpd(directory, socket: socket)
        defer { server.stop() }
        func session() throws {
            let client = try LineClient(port: server.port)
            _ = try client.readReply()
            _ = try client.command("QUIT")
        }
        func waitForSessions(_ n: Int) -> Bool {
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                if count("smtp disconnected reason=quit", in: server.log) >= n { return true }
                usleep(10_000)
            }
            return false
        }
        let before = count("smtp disconnected reason=quit", in: server.log)
        try session()
        #expect(waitForSessions(before + 1))
        #expect(count("debug: smtp: session", in: server.log) == 0)

        #expect(try smtpctl(["-s", socket, "log", "verbose"]).output == "command succeeded\n")
        try session()
        #expect(waitForSessions(before + 2))
        #expect(server.waitForLog(": closed"))
        #expect(count("debug: smtp: session", in: server.log) == 2)
        #expect(server.log.contains("accepted from 127.0.0.1 on 127.0.0.1:\(server.port)"))

        #expect(try smtpctl(["-s", socket, "log", "brief"]).status == 0)
        try session()
        #expect(waitForSessions(before + 3))
        usleep(100_000)
        #expect(count("debug: smtp: session", in: server.log) == 2)
    }

    @Test("trace smtp traces the dialogue of the sessions that begin afterwards; untrace stops it")
    func traceSMTPAtRunTime() throws {
        let directory = try directory("ctltrace")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let server = try smtpd(directory, socket: socket)
        defer { server.stop() }
        func session(_ helo: String) throws {
            let client = try LineClient(port: server.port)
            _ = try client.readReply()
            _ = try client.command("HELO \(helo)")
            _ = try client.command("QUIT")
        }
        let sessionsBefore = count("smtp disconnected reason=quit", in: server.log)
        try session("before")
        #expect(try smtpctl(["-s", socket, "trace", "smtp"]).output == "command succeeded\n")
        try session("during")
        #expect(server.waitForLog("<<< HELO during"))
        #expect(try smtpctl(["-s", socket, "untrace", "smtp"]).status == 0)
        try session("after")
        let deadline = Date().addingTimeInterval(5)
        while count("smtp disconnected reason=quit", in: server.log) < sessionsBefore + 3
            && Date() < deadline
        {
            usleep(10_000)
        }
        #expect(count("smtp disconnected reason=quit", in: server.log) == sessionsBefore + 3)
        #expect(!server.log.contains("<<< HELO before"))
        #expect(!server.log.contains("<<< HELO after"))
    }

    @Test(
        "load faults takes effect for the next session; a running one keeps its rules; errors are FILE:LINE"
    )
    func faultsLoadedAtRunTimeApplyToTheNextSession() throws {
        let directory = try directory("ctlfault")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let server = try smtpd(directory, socket: socket)
        defer { server.stop() }
        let accepted = "250 2.1.5 Destination address valid: Recipient ok"

        let running = try LineClient(port: server.port)
        _ = try running.readReply()
        _ = try running.command("HELO x")
        _ = try running.command("MAIL FROM:<a@example.org>")

        let rules = try directory.write(
            "faults.conf", "fault seed 9\nfault at rcpt reply \"451 4.7.1 Loaded at run time\"\n")
        let load = try smtpctl(["-s", socket, "load", "faults", rules])
        #expect(load.output == "command succeeded\n")
        #expect(try running.command("RCPT TO:<root@localhost>") == accepted)
        #expect(try rcptReply(port: server.port) == "451 4.7.1 Loaded at run time")
        let shown = try smtpctl(["-s", socket, "show", "faults"])
        #expect(
            shown.output == "fault seed 9\nfault at rcpt reply \"451 4.7.1 Loaded at run time\"\n")

        let broken = try directory.write(
            "broken.conf", "fault seed 1\n\nfault at rcpt explode\nlisten on lo\n")
        let refused = try smtpctl(["-s", socket, "load", "faults", broken])
        #expect(refused.status == 1)
        #expect(refused.output.hasPrefix("command failed: \(broken):3: syntax error"))
        #expect(refused.output.contains("\(broken):4: listen: only fault statements"))
        #expect(try rcptReply(port: server.port) == "451 4.7.1 Loaded at run time")

        #expect(try smtpctl(["-s", socket, "clear", "faults"]).status == 0)
        #expect(try rcptReply(port: server.port) == accepted)
        #expect(try smtpctl(["-s", socket, "show", "faults"]).output == "no fault rules\n")
    }

    @Test("encrypt writes SHA-512 crypt hashes that authenticate through AUTH PLAIN against smtpd")
    func encryptedHashAuthenticates() throws {
        let directory = try directory("ctlcrypt")
        defer { directory.remove() }
        let one = try smtpctl(["encrypt", "s3cret pass"])
        #expect(one.status == 0)
        let hash = one.output.trimmingCharacters(in: .newlines)
        #expect(
            hash.wholeMatch(of: /\$6\$[.\/0-9A-Za-z]{16}\$[.\/0-9A-Za-z]{86}/) != nil, "\(hash)")
        // Without an argument: one hash per line of standard input, the last line unended.
        let many = try smtpctl(["encrypt"], input: "first\nsecond")
        let hashes = many.output.split(separator: "\n").map(String.init)
        #expect(hashes.count == 2 && hashes.allSatisfy { $0.hasPrefix("$6$") })
        #expect(try smtpctl(["encrypt", "s3cret pass"]).output != one.output)  // a new salt

        let table = try directory.write(
            "creds", "alice \(hash)\nbob \(hashes[1])\ncarol \(hashes[0])\n")
        let server = try SmtpdProcess(
            config: """
                table creds "\(table)"
                listen on 127.0.0.1 port @PORT@ auth <creds> auth-plaintext hostname vm
                action "authed" maildir "\(directory.path)/authed"
                match from auth for any action "authed"
                match from any for local action "authed"

                """, directory: directory, extraArguments: ["-s", directory.path + "/c.sock"])
        defer { server.stop() }
        func auth(_ user: String, _ password: String) throws -> String {
            let client = try LineClient(port: server.port)
            _ = try client.readReply()
            _ = try client.command("EHLO x")
            let token = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
            return try client.command("AUTH PLAIN \(token)")
        }
        #expect(try auth("alice", "s3cret pass") == "235 2.0.0 Authentication succeeded")
        #expect(try auth("bob", "second") == "235 2.0.0 Authentication succeeded")
        #expect(try auth("carol", "first") == "235 2.0.0 Authentication succeeded")
        #expect(try auth("alice", "s3cret") == "535 Authentication failed")
    }

    @Test("a socket left by a killed smtpd is replaced; one of a running smtpd is refused")
    func staleSocketIsReplacedLiveOneRefused() throws {
        let directory = try directory("ctlstale")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let first = try smtpd(directory, socket: socket)
        #expect(first.waitForLog("info: control socket"))
        first.stop()  // SIGKILL: nothing is cleaned up
        #expect(access(socket, F_OK) == 0)
        #expect(try smtpctl(["-s", socket, "show", "stats"]).status == 1)

        let second = try smtpd(directory, socket: socket)
        defer { second.stop() }
        #expect(second.waitForLog("info: control socket \(socket)"))
        #expect(try smtpctl(["-s", socket, "show", "stats"]).status == 0)

        let third = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir"), directory: directory,
            extraArguments: ["-s", socket], readyHost: nil)
        defer { third.stop() }
        #expect(third.wait(timeout: 10) == 1)
        #expect(third.log.contains("control socket \(socket) is in use by a running smtpd"))
        // The running one still answers.
        #expect(try smtpctl(["-s", socket, "show", "stats"]).status == 0)
    }
}

extension SmtpctlTests {
    @Test("a socket another server (one that takes no lock, as OpenSMTPD) listens on is left alone")
    func foreignListenerIsNotReplaced() throws {
        let directory = try directory("ctlforeign")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socket.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0 && listen(fd, 4) == 0)

        let server = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir"), directory: directory,
            extraArguments: ["-s", socket], readyHost: nil)
        defer { server.stop() }
        #expect(server.wait(timeout: 10) == 1)
        #expect(server.log.contains("control socket \(socket): another server is listening on it"))
        #expect(access(socket, F_OK) == 0)
    }

    @Test("smtpd -n names a control group that does not exist with FILE:LINE")
    func checkOnlyReportsAnUnknownControlGroup() throws {
        let directory = try directory("ctlcheck")
        defer { directory.remove() }
        let config = try directory.write(
            "smtpd.conf",
            seedConfig(maildir: directory.path + "/Maildir", port: "2525")
                + "\ncontrol group no-such-group-mlt\n")
        let result = try runProgram(smtpdPath, ["-n", "-f", config])
        #expect(result.status == 1)
        #expect(
            result.errorOutput.contains(
                "\(config):3: control group no-such-group-mlt: no such group"),
            "\(result.errorOutput)")
    }
}

/// The queue verbs against smtpd's own relay queue: a message for a next hop that is down
/// waits in the spool, and smtpctl lists, schedules, pauses and removes it.
@Suite(
    .enabled(if: isRoot, "needs root (the control socket admits root)"),
    .requires(.smtpd, .smtpctl))
struct SmtpctlRelayQueueTests {
    @Test(
        "show queue lists a waiting relay envelope; schedule, pause, resume and remove act on smtpd's queue"
    )
    func verbsAgainstTheRelayQueue() throws {
        let directory = try TempDir("ctlrelay")
        defer { directory.remove() }
        let socket = directory.path + "/smtpd.sock"
        let down = try freePort()  // nothing listens there: every attempt is refused
        let server = try SmtpdProcess(
            config: """
                queue directory "\(directory.path)/spool"
                queue retry 10m 20m
                listen on 127.0.0.1 port @PORT@ hostname relay.test
                action "out" relay host "smtp://127.0.0.1:\(down)"
                match from any for domain "away.test" action "out"

                """, directory: directory, extraArguments: ["-s", socket])
        defer { server.stop() }
        func run(_ arguments: String...) throws -> ProgramResult {
            try runProgram(ExternalTool.smtpctl.path, ["-s", socket] + arguments)
        }

        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("HELO x")
        _ = try client.command("MAIL FROM:<alice@here.test>")
        #expect(try client.command("RCPT TO:<bob@away.test>").hasPrefix("250 "))
        #expect(try client.command("RCPT TO:<carol@away.test>").hasPrefix("250 "))
        _ = try client.command("DATA")
        #expect(try client.command("Subject: queued\r\n\r\nwaiting\r\n.").hasPrefix("250 "))

        // The first attempt fails at once (connection refused); then both wait 10 minutes.
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(10)
        repeat {
            lines = try run("show", "queue").output.split(separator: "\n").map(String.init)
            if lines.count == 2
                && lines.allSatisfy({
                    $0.contains("|pending|") && $0.split(separator: "|").last?.isEmpty == false
                })
            {
                break
            }
            usleep(50_000)
        } while Date() < deadline
        #expect(lines.count == 2, "\(lines)\n\(server.log)")
        let fields = lines.first?.split(separator: "|", omittingEmptySubsequences: false) ?? []
        // Thirteen fields, RUNSTATE itself being two (`pending|SECONDS`).
        #expect(fields.count == 14, "\(lines)")
        if fields.count == 14 {
            #expect(fields[0].count == 16 && fields[0].allSatisfy(\.isHexDigit))
            #expect(Array(fields[1...4]) == ["?", "mta", "", "alice@here.test"])
            #expect(fields[5] == "bob@away.test" || fields[5] == "carol@away.test")
            #expect(fields[6] == fields[5])
            #expect(fields[10] == "1")  // one attempt so far
            #expect(fields[11] == "pending")
            #expect((0...600).contains(Int(fields[12]) ?? -1), "\(fields[12])")
            #expect(!fields[13].isEmpty)  // why the attempt failed
        }
        let messageID = String(fields.first?.prefix(8) ?? "")

        #expect(try run("pause", "mta").output == "command succeeded\n")
        #expect(try run("pause", "mta").output == "command failed: mta is already paused\n")
        #expect(try run("schedule", messageID).output == "2 envelopes scheduled\n")
        #expect(try run("resume", "mta").output == "command succeeded\n")
        #expect(try run("show", "stats").output.contains("uptime="))
        #expect(try run("remove", "all").output == "2 envelopes removed\n")
        #expect(try run("show", "queue").output == "")
    }
}

/// The queue verbs against an embedded server whose queue is a `MemoryQueue`: what smtpctl
/// prints, and what the queue holds afterwards.
@Suite(.enabled(if: isRoot, "needs root (the control socket admits root)"), .requires(.smtpctl))
struct SmtpctlQueueTests {
    static let clock: @Sendable () -> Int64 = { 5_000 }

    static func envelope(_ id: UInt64, _ recipient: String, state: QueuedEnvelope.State = .pending)
        -> QueuedEnvelope
    {
        QueuedEnvelope(
            id: id, sender: "alice@gruen.lab", recipient: recipient,
            destination: "smtp://10.0.2.2", state: state, created: 1_000, expires: 346_600,
            lastTry: 4_900, nextTry: 5_600, retries: 1, lastError: "421 4.3.0 Try again")
    }

    @Test(
        "show queue, schedule, remove, pause and resume act on the queue and print OpenSMTPD's texts"
    )
    func queueVerbs() throws {
        let directory = try TempDir("ctlqueue")
        defer { directory.remove() }
        let queue = MemoryQueue(
            [
                Self.envelope(0x0a0b_0c0d_0000_0001, "bob@rot.lab"),
                Self.envelope(0x0a0b_0c0d_0000_0002, "carol@rot.lab", state: .inflight),
                Self.envelope(0x1111_2222_0000_0001, "dave@blau.lab"),
            ], now: Self.clock)
        let server = try MailServer.inMemory()
        try server.start()
        defer { server.stop() }
        let socket = directory.path + "/q.sock"
        try server.startControl(ControlSettings(path: socket, queue: queue))
        func run(_ arguments: String...) throws -> ProgramResult {
            try runProgram(ExternalTool.smtpctl.path, ["-s", socket] + arguments)
        }

        let listing = try run("show", "queue")
        #expect(listing.status == 0)
        let lines = listing.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(
            lines.first?.hasPrefix(
                "0a0b0c0d00000001|?|mta||alice@gruen.lab|bob@rot.lab|bob@rot.lab|1000|346600|4900|1|pending|"
            )
                == true)
        #expect(lines.first?.hasSuffix("|421 4.3.0 Try again") == true)
        #expect(lines[1].contains("|inflight|"))

        #expect(try run("schedule", "0a0b0c0d").output == "2 envelopes scheduled\n")
        #expect(
            queue.queueSnapshot().filter { $0.messageID == 0x0a0b_0c0d }.allSatisfy {
                $0.nextTry == 5_000
            })
        #expect(queue.queueSnapshot().first { $0.messageID == 0x1111_2222 }?.nextTry == 5_600)
        #expect(try run("schedule", "1111222200000001").output == "1 envelope scheduled\n")
        #expect(try run("schedule", "ffffffff").output == "0 envelope scheduled\n")

        #expect(try run("remove", "0a0b0c0d00000002").output == "1 envelope removed\n")
        #expect(!queue.queueSnapshot().contains { $0.id == 0x0a0b_0c0d_0000_0002 })
        let stats = try run("show", "stats").output
        #expect(
            stats.contains("queue.envelope=2\n") && stats.contains("scheduler.envelope.removed=1\n")
        )

        #expect(try run("pause", "mta").output == "command succeeded\n")
        #expect(queue.isDeliveryPaused)
        let again = try run("pause", "mta")
        #expect(again.status == 1 && again.output == "command failed: mta is already paused\n")
        #expect(try run("resume", "mta").output == "command succeeded\n")
        #expect(!queue.isDeliveryPaused)
        #expect(try run("resume", "mta").output == "command failed: mta is not paused\n")

        #expect(try run("remove", "all").output == "2 envelopes removed\n")
        let empty = try run("show", "queue")
        #expect(empty.status == 0 && empty.output == "")
    }
}
