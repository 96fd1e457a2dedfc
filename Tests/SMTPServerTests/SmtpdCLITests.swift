import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// The smtpd command line: `-n`, usage errors, `-D`, and a graceful SIGTERM.
@Suite(.requires(.smtpd)) struct SmtpdCLITests {
    @Test func checkOnlyAcceptsTheLocalConfig() throws {
        let result = try runProgram(
            smtpdPath, ["-n", "-f", packageRoot + "/conf/smtpd-local.conf"])
        #expect(result.status == 0)
        #expect(result.errorOutput == "configuration OK\n")
    }

    @Test(arguments: [["-x"], ["-f"], ["-d", "extra"], ["-D", "novalue"]])
    func badArgumentsPrintUsageAndExit1(arguments: [String]) throws {
        let result = try runProgram(smtpdPath, arguments)
        #expect(result.status == 1)
        #expect(
            result.errorOutput.hasSuffix(
                "usage: smtpd [-dFhnv] [-D macro=value] [-f file] [-N netns] [-s socket] [-T trace]\n"
            ),
            "stderr: \(result.errorOutput)")
    }

    @Test func aMissingInterfaceIsAFileLineError() throws {
        let directory = try TempDir("cli")
        defer { directory.remove() }
        let config = try directory.write(
            "missing.conf",
            "# comment\nlisten on mltnosuch0 port 25\naccept from any for local deliver to maildir \"/tmp/x\"\n"
        )
        let result = try runProgram(smtpdPath, ["-n", "-f", config])
        #expect(result.status == 1)
        #expect(
            result.errorOutput.hasPrefix("\(config):2: listen on mltnosuch0: "),
            "\(result.errorOutput)")
        #expect(!result.errorOutput.contains("configuration OK"))
    }

    @Test func macroOverrideWinsOverTheFile() throws {
        let directory = try TempDir("cli")
        defer { directory.remove() }
        let config = """
            name = "from-file.example"
            listen on 127.0.0.1 port @PORT@ hostname $name
            accept from any for local deliver to maildir "\(directory.path)/Maildir"
            """
        let plain = try SmtpdProcess(config: config, directory: directory, extraArguments: [])
        defer { plain.stop() }
        let overridden = try SmtpdProcess(
            config: config, directory: directory, extraArguments: ["-D", "name=from-flag.example"])
        defer { overridden.stop() }
        #expect(
            try LineClient(port: plain.port).readLine() == "220 from-file.example ESMTP MailLab\r\n"
        )
        #expect(
            try LineClient(port: overridden.port).readLine()
                == "220 from-flag.example ESMTP MailLab\r\n")
    }

    @Test func sigtermFinishesTheDeliveryInFlightThenExits0() throws {
        let directory = try TempDir("term")
        defer { directory.remove() }
        let maildir = directory.path + "/Maildir"
        let smtpd = try SmtpdProcess(config: seedConfig(maildir: maildir), directory: directory)
        defer { smtpd.stop() }

        let idle = try LineClient(port: smtpd.port)
        _ = try idle.readReply()
        #expect(try idle.command("HELO idle").hasPrefix("250 "))

        let sender = try LineClient(port: smtpd.port)
        _ = try sender.readReply()
        for command in [
            "HELO defaultNS", "MAIL FROM:<a@b.example>", "RCPT TO:<root@localhost>", "DATA",
        ] {
            #expect(try !sender.command(command).hasPrefix("5"))
        }
        try sender.send("Subject: term\r\n\r\nsent before SIGTERM\r\n.\r\n")
        // The server has read the final dot and started the delivery: now stop it.
        #expect(smtpd.waitForLog("<<< [EOM]"))
        smtpd.signal(SIGTERM)

        let answer = try sender.readLine() ?? "(closed)"
        #expect(lineMatches(answer, "250 2.0.0 <id> Message accepted for delivery"), "\(answer)")
        let files = maildirFiles(maildir)
        #expect(files.count == 1)
        #expect(files.first.map { readText($0).contains("\nsent before SIGTERM\n") } == true)

        // Sessions left open are told and closed.
        let name = String(
            readText(files.first ?? "").firstMatch(of: /\tby (\S+) \(MailLab\)/)?.1 ?? "vm")
        for client in [idle, sender] {
            let line = try client.readLine()
            #expect(line == "421 4.3.0 \(name) Server shutting down\r\n", "\(line ?? "(closed)")")
            #expect(client.closesWithin(3))
        }
        #expect(smtpd.wait(timeout: 10) == 0)
        let lines = smtpd.log.split(separator: "\n")
        #expect(lines.last == "Exiting", "log ends: \(lines.suffix(3))")
        #expect(lines.contains("info: received signal 15, stopping"))
    }

    /// The parent's pid (the fourth field of /proc/PID/stat, after the parenthesized name).
    static func parentPID(of pid: Int32) -> Int32 {
        let stat = readText("/proc/\(pid)/stat")
        guard let close = stat.lastIndex(of: ")") else { return -1 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) ?? -1 : -1
    }

    /// Pids of processes whose command line contains `text`.
    static func pids(commandLineContaining text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry) else { return nil }
            let command = readBytes("/proc/\(entry)/cmdline").map { $0 == 0 ? 0x20 : $0 }
            return String(decoding: command, as: UTF8.self).contains(text) ? pid : nil
        }
    }

    @Test func withoutDashDItDaemonizesAndServes() throws {
        let directory = try TempDir("daemon")
        defer { directory.remove() }
        let port = try freePort()
        let config = try directory.write(
            "daemon.conf", seedConfig(maildir: directory.path + "/Maildir", port: String(port)))
        defer {
            // Whatever happens, the daemon this test started goes.
            for pid in Self.pids(commandLineContaining: config) { kill(pid, SIGKILL) }
        }
        // Not through Foundation's Process: it would wait for the daemon, which inherits the
        // descriptor Process watches.
        // Its control socket in the test's directory, not /var/run (SIGKILL leaves it).
        let control = directory.path + "/smtpd.sock"
        #expect(
            try Self.spawnAndWait(smtpdPath, ["-f", config, "-s", control]) == 0,
            "the parent exits 0")
        var daemons: [Int32] = []
        var banner: String?
        for _ in 0..<100 where banner == nil {
            daemons = Self.pids(commandLineContaining: config)
            banner = ((try? LineClient(port: port, timeout: 2).readLine()) ?? nil)
            if banner == nil { usleep(50_000) }
        }
        // One daemon; as root, its network side beside it (its child: docs/PRIVILEGES.md).
        daemons = Self.pids(commandLineContaining: config)
        let tops = daemons.filter { !daemons.contains(Self.parentPID(of: $0)) }
        #expect(tops.count == 1, "one daemon: \(daemons)")
        #expect(daemons.count == (geteuid() == 0 ? 2 : 1), "processes: \(daemons)")
        #expect(banner?.hasSuffix(" ESMTP MailLab\r\n") == true)
        let replies = try GoldenDialogueTests.runDialogue(port: port, recipient: "root@localhost")
        #expect(GoldenDialogueTests.normalized(replies) == GoldenDialogueTests.goldenReplies)
        #expect(maildirFiles(directory.path + "/Maildir").count == 1)

        for pid in daemons { kill(pid, SIGTERM) }
        var gone = false
        for _ in 0..<200 where !gone {
            gone = Self.pids(commandLineContaining: config).isEmpty
            if !gone { usleep(25_000) }
        }
        #expect(gone, "the daemon stops on SIGTERM")
    }

    /// posix_spawn + waitpid: the exit status of `path`, killed after 20 s.
    static func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(
                &actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        // XXX: the daemon inherits this process's other descriptors (Glibc does not export
        // posix_spawn_file_actions_addclosefrom_np); it lives for this test only, so another
        // test's pipe held open by it is held at most that long.
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard status == 0 else { throw TestFailure("posix_spawn \(path): \(status)") }
        var exit: Int32 = 0
        for _ in 0..<2000 {
            if waitpid(pid, &exit, WNOHANG) == pid {
                return (exit & 0x7f) == 0 ? (exit >> 8) & 0xff : 128 + (exit & 0x7f)
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &exit, 0)
        throw TestFailure("\(path) did not exit")
    }
}
