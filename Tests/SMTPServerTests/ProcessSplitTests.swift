import Foundation
import Glibc
import MailLabTestSupport
import Synchronization
import Testing

/// The real smtpd, started as root, split in two (docs/PRIVILEGES.md): the process that
/// holds the clients' connections runs as `_maillab`, and its crash loses nothing that was
/// acknowledged.
@Suite(.serialized) struct ProcessSplitTests {
    /// `_maillab` as `make install` creates it (left in place: the installed state).
    static func ensureUnprivilegedUser() throws {
        if getpwnam("_maillab") != nil { return }
        let made = try runProgram(
            "/usr/sbin/useradd",
            [
                "--system", "--user-group", "--home-dir", "/nonexistent", "--no-create-home",
                "--shell", "/usr/sbin/nologin", "_maillab",
            ])
        guard made.status == 0 else { throw TestFailure("useradd _maillab: \(made.errorOutput)") }
    }

    static func start(_ directory: TempDir, maildir: String) throws -> SmtpdProcess {
        try ensureUnprivilegedUser()
        return try SmtpdProcess(
            config: seedConfig(maildir: maildir), directory: directory, extraArguments: [])
    }

    /// `Uid:` of /proc/PID/status: real, effective, saved, file-system.
    static func uids(_ pid: Int32) -> [UInt32] {
        let status = readText("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return [] }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().compactMap {
            UInt32($0)
        }
    }

    /// The inode of the server's end of the TCP connection whose client end is `fd`.
    static func serverSocketInode(clientFD fd: Int32, serverPort: UInt16) -> String? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let got = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard got == 0 else { return nil }
        let clientPort = UInt16(bigEndian: address.sin_port)
        // /proc/net/tcp: "sl local rem st … uid timeout inode"; ports in hex.
        for line in Self.wholeFile("/proc/net/tcp").split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9 else { continue }
            let local = fields[1].split(separator: ":")
            let remote = fields[2].split(separator: ":")
            if local.count == 2, remote.count == 2, UInt16(local[1], radix: 16) == serverPort,
                UInt16(remote[1], radix: 16) == clientPort
            {
                return String(fields[9])
            }
        }
        return nil
    }

    /// A /proc file read to its end (its size says 0; one read(2) gives a page at most).
    static func wholeFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Pids of the processes with `socket:[inode]` among their descriptors.
    static func holders(ofSocket inode: String, among pids: [Int32]) -> [Int32] {
        pids.filter { pid in
            let folder = "/proc/\(pid)/fd"
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return entries.contains {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + $0))
                    == "socket:[\(inode)]"
            }
        }
    }

    static func waitForNewNetworkSide(_ smtpd: SmtpdProcess, other old: Int32) -> Int32? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let pid = smtpd.networkSidePID, pid != old,
                uids(pid) == [UInt32](repeating: uids(pid).first ?? 0, count: 4),
                uids(pid).first != 0
            {
                return pid
            }
            usleep(10_000)
        }
        return nil
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func theProcessHoldingASessionRunsAsTheUnprivilegedUser() throws {
        let directory = try TempDir("split-ps")
        defer { directory.remove() }
        let smtpd = try Self.start(directory, maildir: directory.path + "/Maildir")
        defer { smtpd.stop() }
        let client = try LineClient(port: smtpd.port)
        #expect(try client.readReply().joined().hasPrefix("220 "))
        let inode = try #require(
            Self.serverSocketInode(clientFD: client.fd, serverPort: smtpd.port))
        let child = try #require(smtpd.networkSidePID, "no network side: \(smtpd.log)")
        #expect(Self.holders(ofSocket: inode, among: [smtpd.pid, child]) == [child])
        let user = try #require(getpwnam("_maillab")).pointee.pw_uid
        #expect(Self.uids(child) == [user, user, user, user])
        #expect(Self.uids(smtpd.pid) == [0, 0, 0, 0])
        #expect(readText("/proc/\(child)/status").contains("NoNewPrivs:\t1"))
        #expect(smtpd.log.contains("info: network side started (pid \(child), user _maillab)"))
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func pythonSmtplibDeliversThroughTheSplit() throws {
        let directory = try TempDir("split-py")
        defer { directory.remove() }
        let maildir = directory.path + "/Maildir"
        let smtpd = try Self.start(directory, maildir: maildir)
        defer { smtpd.stop() }
        let script = """
            import smtplib
            s = smtplib.SMTP('127.0.0.1', \(smtpd.port))
            s.sendmail('a@example.com', ['root@localhost'], 'Subject: split\\r\\n\\r\\nthrough two processes\\r\\n')
            s.quit()
            """
        let sent = try runProgram("/usr/bin/env", ["python3", "-c", script])
        #expect(sent.status == 0, "\(sent.errorOutput)")
        let files = maildirFiles(maildir)
        #expect(files.count == 1)
        let text = files.first.map(readText) ?? ""
        #expect(text.contains("\nSubject: split\n"))
        #expect(text.hasSuffix("\n\nthrough two processes\n"))
        #expect(text.hasPrefix("Return-Path: <a@example.com>\nDelivered-To: root@localhost\n"))
    }

    /// SIGKILL of the network side while 16 clients send: every 250 was preceded by the
    /// message's file in new/ (checked at each 250, and whole at the end); the parent starts
    /// a new network side and a new session is served.
    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func killingTheNetworkSideLosesNothingAcknowledged() throws {
        let directory = try TempDir("split-kill")
        defer { directory.remove() }
        let maildir = directory.path + "/Maildir"
        let smtpd = try Self.start(directory, maildir: maildir)
        defer { smtpd.stop() }
        let first = try #require(smtpd.networkSidePID)

        let run = CrashRun()
        let counts = SplitCounts()
        let port = smtpd.port
        let killer = Thread {
            usleep(800_000)
            kill(first, SIGKILL)
            usleep(1_200_000)
            run.stop.store(true, ordering: .relaxed)
        }
        killer.start()
        onThreads(16) { client in
            var round = 0
            while !run.stop.load(ordering: .relaxed) {
                round += 1
                let tokens = Self.send(
                    port: port, client: client * 1000 + round, run: run, maildir: maildir,
                    counts: counts)
                run.acknowledged.withLock { $0 += tokens }
                if tokens.isEmpty { usleep(20_000) }
            }
        }
        let acked = run.acknowledged.withLock { $0 }
        #expect(acked.count >= 16, "the clients got \(acked.count) messages through")
        let ahead = counts.ahead.load(ordering: .relaxed)
        #expect(ahead == 0, "\(ahead) 250s answered before their file was in new/")
        let second = Self.waitForNewNetworkSide(smtpd, other: first)
        #expect(second != nil, "no new network side: \(smtpd.log)")
        #expect(smtpd.log.contains("warn: network side (pid \(first)) was killed by signal 9"))
        #expect(smtpd.isRunning)

        let (found, partial) = CrashDurabilityTests.storedTokens(maildir)
        #expect(partial.isEmpty, "partial files in new/: \(partial)")
        for token in acked {
            #expect(found[token] == 1, "acknowledged \(token) found \(found[token] ?? 0) times")
        }
        #expect(
            try GoldenDialogueTests.runDialogue(port: smtpd.port, recipient: "root@localhost")
                .contains { $0.hasSuffix("Message accepted for delivery\r\n") })
    }

    /// One session of messages until it fails; after each 250 the number of files in new/
    /// must be at least the number of 250s so far (else `ahead` counts it).
    static func send(
        port: UInt16, client: Int, run: CrashRun, maildir: String, counts: SplitCounts
    ) -> [String] {
        CrashDurabilityTests.sendUntilKilled(port: port, client: client, run: run, name: "split") {
            _ in
            let count = counts.acknowledged.add(1, ordering: .relaxed).newValue
            if maildirFiles(maildir).count < count { counts.ahead.add(1, ordering: .relaxed) }
        }
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func moreThanFiveDeathsWithinAMinuteEndSmtpd() throws {
        let directory = try TempDir("split-spin")
        defer { directory.remove() }
        let smtpd = try Self.start(directory, maildir: directory.path + "/Maildir")
        defer { smtpd.stop() }
        var current = try #require(smtpd.networkSidePID)
        for death in 1...6 {
            kill(current, SIGKILL)
            if death == 6 { break }
            guard let next = Self.waitForNewNetworkSide(smtpd, other: current) else {
                Issue.record("no network side after death \(death): \(smtpd.log)")
                return
            }
            current = next
        }
        let status = smtpd.wait(timeout: 10)
        #expect(status == 1, "smtpd: \(status.map(String.init) ?? "still running")")
        #expect(smtpd.log.contains("fatal: the network side died 6 times within 60 s; exiting"))
    }

    /// The network side cannot read /etc/shadow: a system user's AUTH is checked by the
    /// parent (an AUTH record), a wrong password still refused.
    @Test(.requires(.smtpd), .enabled(if: ThrowawayUser.canCreate))
    func systemUserAuthIsCheckedByTheParent() throws {
        let directory = try TempDir("split-auth")
        defer { directory.remove() }
        try Self.ensureUnprivilegedUser()
        let user = try ThrowawayUser(prefix: "mlsa", home: "/nonexistent")
        defer { user.remove() }
        let set = try runProgram("/usr/sbin/chpasswd", [], input: "\(user.name):split-secret\n")
        #expect(set.status == 0, "\(set.errorOutput)")
        let smtpd = try SmtpdProcess(
            config: """
                listen on 127.0.0.1 port @PORT@ auth auth-plaintext
                action "local" maildir "\(directory.path)/Maildir"
                match from any for any action "local"
                """, directory: directory, extraArguments: [])
        defer { smtpd.stop() }
        #expect(smtpd.networkSidePID != nil, "\(smtpd.log)")
        func auth(_ password: String) throws -> String {
            let client = try LineClient(port: smtpd.port)
            _ = try client.readReply()
            _ = try client.command("EHLO split.example")
            let token = Data("\0\(user.name)\0\(password)".utf8).base64EncodedString()
            return try client.command("AUTH PLAIN \(token)")
        }
        #expect(try auth("split-secret").hasPrefix("235 "))
        #expect(try auth("wrong").hasPrefix("535 "))
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func noSplitKeepsOneProcess() throws {
        let directory = try TempDir("split-off")
        defer { directory.remove() }
        try Self.ensureUnprivilegedUser()
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir"), directory: directory,
            extraArguments: [], environment: ["MAILLAB_NO_SPLIT": "1"])
        defer { smtpd.stop() }
        #expect(smtpd.networkSidePID == nil)
        #expect(smtpd.log.contains("info: MAILLAB_NO_SPLIT=1: one process"))
    }
}

/// What the clients of `killingTheNetworkSideLosesNothingAcknowledged` count together.
final class SplitCounts: Sendable {
    let acknowledged = Atomic<Int>(0)
    let ahead = Atomic<Int>(0)
}
