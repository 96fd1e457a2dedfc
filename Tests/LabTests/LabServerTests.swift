import MailLabTestSupport
import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import LinuxSystem
import Namespaces
import Testing

/// Servers inside labs (`smtpd NS CONFIG`, `run NS -- CMD`): ready when `up` returns,
/// restarted by a second `up` once dead, stopped by `down`, a failing one rolling `up` back.
@Suite(
    .enabled(if: isRoot && access(mlabPath, X_OK) == 0, "needs root and a built mlab"),
    .requires(.ip))
struct LabServerTests {
    /// The seed lab with its smtpd, the course's config delivering into `maildir` (not the
    /// shared /tmp/maildir) and `configEdit` applied to it.
    func seedLab(
        _ scratch: LabScratch, maildir: String, configEdit: (String) -> String = { $0 }
    ) throws -> (spec: LabSpec, config: String, line: Int) {
        let file = confDirectory + "/lab-seed.conf"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let course = try String(contentsOfFile: confDirectory + "/smtpd.conf", encoding: .utf8)
        let config = (maildir as NSString).deletingLastPathComponent + "/smtpd.conf"
        try configEdit(course.replacingOccurrences(of: "/tmp/maildir", with: maildir)).write(
            toFile: config, atomically: true, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(lines.firstIndex { $0.hasPrefix("smtpd gruen ") }) + 1
        let edited = text.replacingOccurrences(
            of: "smtpd gruen smtpd.conf", with: "smtpd gruen \(config)")
        return (try LabParser.parse(edited, file: file, renaming: scratch.renaming), config, line)
    }

    func withMaildir(_ body: (String) throws -> Void) throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "mlt-labsrv")
        defer { FileSystem.removeTree(directory) }
        try body(directory + "/maildir")
    }

    /// Connects from the lab's host to 10.0.0.2:25 once, at once, and returns the first reply
    /// ("" if the connection is refused).
    func banner(_ scratch: LabScratch) throws -> String {
        try NetworkNamespace.run(in: scratch.name("host")) { () -> String in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = SocketAddress(ip: "10.0.0.2", port: 25)!.withSockaddr {
                connect(fd, $0, $1)
            }
            guard connected == 0 else { return "" }
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = read(fd, &buffer, buffer.count)
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        }
    }

    func isGone(_ pid: pid_t) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

    /// True if the namespace of process `pid` has a TCP socket listening on 10.0.0.2:25, read
    /// from its /proc/PID/net/tcp (one file read, no namespace hop: the quickest look there is,
    /// taken right after `up` returns).
    func listensOnSeedPort(_ pid: pid_t) -> Bool {
        let table = (try? String(contentsOfFile: "/proc/\(pid)/net/tcp", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains {
            let fields = $0.split(separator: " ")
            return fields.count > 3 && fields[1] == "0200000A:0019" && fields[3] == "0A"
        }
    }

    @Test func seedSmtpdListensWhenUpReturnsAndTheSeedChatPassesAndDownLeavesNothing() throws {
        try withLabScratch { scratch in
            try withMaildir { maildir in
                let (spec, _, _) = try seedLab(scratch, maildir: maildir)
                let report = try Lab.up(spec)
                // No sleep, no retry: up returned, so smtpd is listening.
                let pid = try #require(report.started.first?.record.pid)
                #expect(listensOnSeedPort(pid))
                #expect(try banner(scratch).hasPrefix("220 "))
                let chat = try runToEnd(
                    mlabPath,
                    [
                        "chat", "--netns", scratch.name("host"), "--server", "10.0.0.2",
                        "--port", "25", confDirectory + "/chat/seed.chat",
                    ])
                #expect(chat.status == 0, "\(chat.output)\(chat.errors)")
                let delivered = try FileManager.default.contentsOfDirectory(
                    atPath: maildir + "/new")
                #expect(delivered.count == 1)

                let status = try Lab.status(spec)
                #expect(status.isUp)
                let record = try #require(status.servers.first?.record)
                #expect(status.servers.first?.isRunning == true)
                #expect(FileManager.default.fileExists(atPath: record.log))
                // It runs inside gruen: its network namespace is the lab's.
                let own = try FileSystem.status("/proc/\(record.pid)/ns/net").st_ino
                #expect(
                    own
                        == (try FileSystem.status(NetworkNamespace.path(of: scratch.name("gruen"))))
                        .st_ino)

                let removed = try Lab.down(spec)
                #expect(removed.first?.hasPrefix("smtpd gruen ") == true)
                #expect(isGone(record.pid))
                #expect(scratch.leftovers().isEmpty)
                #expect(scratch.stateFiles().isEmpty)
                #expect(!(try iproute("netns", "list").contains(scratch.prefix)))
            }
        }
    }

    @Test func upWaitsForASlowStartingSmtpdToListen() throws {
        try withLabScratch { scratch in
            try withMaildir { maildir in
                // Comments smtpd must read before it binds: a start that takes a while.
                let padding = String(
                    repeating: "# a comment smtpd reads before it binds its listeners\n",
                    count: 30_000)
                let (spec, _, _) = try seedLab(scratch, maildir: maildir) { padding + $0 }
                let report = try Lab.up(spec)
                let pid = try #require(report.started.first?.record.pid)
                #expect(listensOnSeedPort(pid))
                _ = try Lab.down(spec)
            }
        }
    }

    @Test func aServerThatDiedIsRestartedByASecondUp() throws {
        try withLabScratch { scratch in
            try withMaildir { maildir in
                let (spec, _, _) = try seedLab(scratch, maildir: maildir)
                _ = try Lab.up(spec)
                let first = try #require(try Lab.status(spec).servers.first?.record)
                #expect(kill(first.pid, SIGKILL) == 0)
                let deadline = Clock.monotonicSeconds() + 5
                while first.isRunning && Clock.monotonicSeconds() < deadline {
                    Clock.sleep(seconds: 0.01)
                }
                let dead = try Lab.status(spec)
                #expect(dead.servers.first?.isRunning == false)
                #expect(!dead.isUp)
                #expect(try banner(scratch) == "")

                let again = try Lab.up(spec)
                #expect(again.applied.isEmpty)
                let second = try #require(again.started.first?.record)
                #expect(second.pid != first.pid)
                #expect(listensOnSeedPort(second.pid))
                #expect(try banner(scratch).hasPrefix("220 "))
                #expect(try Lab.status(spec).isUp)
                // A third up finds it running and changes nothing.
                #expect(try Lab.up(spec).isUnchanged)
                _ = try Lab.down(spec)
                #expect(isGone(second.pid))
            }
        }
    }

    @Test func aConfigErrorFailsUpNamingTheProblemAndRollsBack() throws {
        try withLabScratch { scratch in
            try withMaildir { maildir in
                let (spec, config, line) = try seedLab(scratch, maildir: maildir) {
                    $0.replacingOccurrences(of: "listen on bbb", with: "listen on bbx")
                }
                let error = #expect(throws: LabError.self) { try Lab.up(spec) }
                let text = error?.description ?? ""
                #expect(error?.location == "\(confDirectory)/lab-seed.conf:\(line)")
                #expect(
                    text.contains("smtpd gruen \(config): exited with status 1 before it was ready")
                )
                #expect(text.contains("\(config):1: listen on bbx: no such interface"))
                #expect(text.contains("up rolled back the"))
                #expect(text.contains("netns gruen"))
                #expect(scratch.leftovers().isEmpty)
                #expect(scratch.stateFiles().isEmpty)
                #expect(scratch.servers().isEmpty)
            }
        }
    }

    @Test func runStartsACommandInItsNamespaceAndDownStopsIt() throws {
        try withLabScratch { scratch in
            let spec = try LabParser.parse(
                "netns box\nrun box -- sleep 600\n", file: "t.conf", renaming: scratch.renaming)
            let report = try Lab.up(spec)
            let record = try #require(report.started.first?.record)
            #expect(record.isRunning)
            let own = try FileSystem.status("/proc/\(record.pid)/ns/net").st_ino
            #expect(
                own
                    == (try FileSystem.status(NetworkNamespace.path(of: scratch.name("box"))))
                    .st_ino)
            let status = try Lab.status(spec)
            #expect(
                status.servers.first?.line(spec.renaming).hasPrefix(
                    "running  run box -- sleep 600 (pid") == true)
            _ = try Lab.down(spec)
            #expect(isGone(record.pid))
            #expect(scratch.stateFiles().isEmpty)
        }
    }

    @Test func aRunCommandThatCannotStartFailsUpAndRollsBack() throws {
        try withLabScratch { scratch in
            let spec = try LabParser.parse(
                "netns box\nrun box -- mlt-no-such-program\n", file: "t.conf",
                renaming: scratch.renaming)
            let error = #expect(throws: LabError.self) { try Lab.up(spec) }
            #expect(error?.location == "t.conf:2")
            #expect(error?.description.contains("mlt-no-such-program not found in PATH") == true)
            #expect(scratch.leftovers().isEmpty)
            #expect(scratch.stateFiles().isEmpty)
        }
    }
}

/// The record names a process by pid and start time: a pid given to another process since
/// is neither "running" nor signalled.
struct LabServerRecordTests {
    /// This test process's start time, read independently from /proc/self/stat.
    func ownStartTime() throws -> UInt64 {
        let text = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
        let fields = text[text.index(after: try #require(text.lastIndex(of: ")")))...].split(
            separator: " ")
        return try #require(UInt64(fields[19]))
    }

    @Test func aRecordWhosePidWasReusedIsNeitherRunningNorSignalled() throws {
        let start = try ownStartTime()
        let same = LabServerRecord(line: 1, pid: getpid(), startTime: start, log: "")
        #expect(same.isRunning)
        let reused = LabServerRecord(line: 1, pid: getpid(), startTime: start + 1, log: "")
        // Were the start time ignored, stop() would SIGTERM the test process itself.
        try #require(!reused.isRunning)
        #expect(try reused.stop() == false)
    }

    @Test func theStateFileKeepsServerRecords() throws {
        let text =
            "lab x\nfile t.conf\nmade netns x-a\nserver 4 1234 99887 /run/mlab/labs/x/smtpd@a.line4.log\n"
        let state = try #require(LabState(text: text))
        #expect(
            state.servers == [
                LabServerRecord(
                    line: 4, pid: 1234, startTime: 99887, log: "/run/mlab/labs/x/smtpd@a.line4.log")
            ])
        #expect(state.text == text)
        #expect(LabState(text: "lab x\nserver 4 pid 1 log\n") == nil)
    }
}
