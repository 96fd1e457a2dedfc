import Foundation
import Glibc
import MailLabTestSupport
import Synchronization
import Testing

/// A 250 after DATA survives a power cut. The real smtpd delivers into powercut-fs, a FUSE
/// file system that keeps everything not flushed in memory and forgets it on "power off"
/// (docs/DURABILITY.md has the model), while several clients send. At a moment chosen at
/// random the power goes: the file system freezes (every later request fails, the backing
/// folder is rewritten to hold only what was flushed), then smtpd is SIGKILLed and started
/// again on the backing folder, where its start-up sweep moves the whole messages it finds
/// in tmp/ into new/. Every acknowledged message must then be whole in new/, and new/ must
/// hold no partial file. The mutation tests show that the check fails without smtpd's
/// flush, without each part of the recovery (MAILLAB_UNSAFE_SKIP_FLUSH) and without the
/// syncfs shim.
@Suite(.serialized, .requires(.smtpd, .powercutFS)) struct PowerCutTests {
    /// When folder entries become durable without a flush (powercut-fs's COMMIT_MS).
    enum Metadata: String, CustomTestStringConvertible, Sendable {
        /// Only when flushed: the strictest reading of POSIX.
        case onlyWhenFlushed = "0"
        /// Journal commits in the background, every 20 ms (ext4 data=writeback, XFS).
        case committedEvery20ms = "20"
        /// Every folder change at once, long before the file's data (synchronous metadata).
        case synchronous = "-1"

        var testDescription: String { "\(self)" }
    }

    /// When the power goes.
    enum Cut: CustomTestStringConvertible, Sendable {
        /// A random 0–300 ms after the clients got 20 messages through.
        case atARandomMoment
        /// Instead of the Nth flush request, N random in 40...100 (powercut-fs CUT_AT_FLUSH).
        case atARandomFlush

        var testDescription: String { "\(self)" }
    }

    /// One power-cut round's findings.
    struct Round {
        var acknowledged: [String] = []
        /// Acknowledged tokens not found whole in new/.
        var lost: [String] = []
        /// Files in new/ that are not a whole message.
        var partial: [String] = []
        var stored = 0
        /// What the restarted smtpd left in tmp/ after its sweep.
        var leftInTmp: [String] = []
        var fileSystemLog = ""
        var smtpdLog = ""
        /// The restarted smtpd's log: what its sweep recovered and removed.
        var recoveryLog = ""

        var summary: String {
            let sweep = recoveryLog.split(separator: "\n").filter {
                $0.contains("/tmp") || $0.contains("/new")
            }
            return "\(acknowledged.count) acknowledged, \(stored) whole in new/, lost "
                + "\(lost.count) \(lost.prefix(5)), partial \(partial.count), left in tmp/ "
                + "\(leftInTmp.count); \(fileSystemLog); sweep: \(sweep.joined(separator: " | "))"
        }
    }

    static let clients = 6

    @Test(arguments: [
        (Metadata.onlyWhenFlushed, Cut.atARandomMoment, false),
        (.onlyWhenFlushed, .atARandomFlush, false), (.onlyWhenFlushed, .atARandomFlush, true),
        (.committedEvery20ms, .atARandomMoment, true), (.synchronous, .atARandomMoment, true),
        (.synchronous, .atARandomFlush, true),
    ])
    func everyAcknowledgedMessageIsWholeAfterAPowerCut(
        metadata: Metadata, cut: Cut, maildirExists: Bool
    ) throws {
        // Without a Maildir on the disk, smtpd makes it: its folders must be durable too.
        let round = try Self.round(
            metadata: metadata, cut: cut, maildirExists: maildirExists, skip: nil, shim: true,
            recipients: maildirExists ? 1 : 2)
        #expect(round.acknowledged.count >= 5, "\(round.summary)")
        #expect(round.lost.isEmpty, "\(round.summary)")
        #expect(round.partial.isEmpty, "\(round.summary)")
        #expect(round.leftInTmp.isEmpty, "\(round.summary)")
        // The shim works: smtpd's syncfs reached the file system.
        #expect(!round.fileSystemLog.contains("syncfs 0,"), "\(round.fileSystemLog)")
    }

    /// A way to break smtpd's durability, and the model that makes the break visible.
    struct Mutation: CustomTestStringConvertible, Sendable {
        let skip: String?
        let shim: Bool
        let metadata: Metadata
        let cut: Cut
        var testDescription: String {
            (skip.map { "skip \($0)" } ?? "no syncfs shim") + ", metadata \(metadata), cut \(cut)"
        }
    }

    /// Without the flush, or without the shim that lets syncfs reach powercut-fs, nothing
    /// smtpd acknowledged is durable. Without the recovery, the messages whose names in new/
    /// the cut took (linked after the flush, never flushed themselves) are removed from tmp/
    /// with the stale files. Without the size check, a file whose name is durable before its
    /// data (synchronous metadata) is published cut short: new/ holds partial files.
    @Test(arguments: [
        Mutation(skip: "data", shim: true, metadata: .onlyWhenFlushed, cut: .atARandomMoment),
        Mutation(skip: nil, shim: false, metadata: .onlyWhenFlushed, cut: .atARandomMoment),
        Mutation(skip: "recovery", shim: true, metadata: .onlyWhenFlushed, cut: .atARandomFlush),
        Mutation(skip: "size", shim: true, metadata: .synchronous, cut: .atARandomFlush),
    ])
    func aPowerCutLosesMessagesWithoutEachStep(mutation: Mutation) throws {
        var rounds: [String] = []
        for _ in 1...10 {  // a cut can still find nothing at stake
            let round = try Self.round(
                metadata: mutation.metadata, cut: mutation.cut, maildirExists: true,
                skip: mutation.skip, shim: mutation.shim)
            rounds.append(round.summary)
            if !round.lost.isEmpty || !round.partial.isEmpty { return }
        }
        Issue.record("no message lost or partial in \(rounds.count) power cuts: \(rounds)")
    }

    /// powercut-fs over `directory`/disk, mounted at `directory`/mnt; with an empty Maildir
    /// on the disk when `maildir`.
    static func mount(
        in directory: TempDir, metadata: String, cutAtFlush: Int, maildir: Bool
    ) throws -> (mount: PowerCutMount, backing: String, mountpoint: String) {
        let backing = directory.path + "/disk"
        let mountpoint = directory.path + "/mnt"
        for folder in [backing, mountpoint] { mkdir(folder, 0o755) }
        if maildir {
            for folder in ["", "/tmp", "/new", "/cur"] {
                mkdir(backing + "/Maildir" + folder, 0o700)
            }
        }
        let mount = try PowerCutMount(
            backing: backing, mountpoint: mountpoint, metadata: metadata, cutAtFlush: cutAtFlush,
            log: directory.path + "/powercut-fs.log")
        return (mount, backing, mountpoint)
    }

    /// Starts powercut-fs and smtpd, sends from several clients, cuts the power (`cut`; after
    /// 15 s at the latest), SIGKILLs smtpd, starts it again on what the disk kept (it
    /// listens only once its start-up sweep is done) and reads the Maildir.
    static func round(
        metadata: Metadata, cut: Cut, maildirExists: Bool, skip: String?, shim: Bool,
        recipients: Int = 1
    ) throws -> Round {
        let directory = try TempDir("powercut")
        defer { directory.remove() }
        let (mount, backing, mountpoint) = try Self.mount(
            in: directory, metadata: metadata.rawValue,
            cutAtFlush: cut == .atARandomFlush ? Int.random(in: 40...100) : 0,
            maildir: maildirExists)
        defer { mount.unmount() }

        var environment: [String: String] = [:]
        if shim { environment["LD_PRELOAD"] = ExternalTool.powercutFS.programs[1] }
        if let skip { environment["MAILLAB_UNSAFE_SKIP_FLUSH"] = skip }
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: mountpoint + "/Maildir"), directory: directory,
            extraArguments: [], environment: environment)
        defer { smtpd.stop() }

        let acknowledged = Mutex<[String]>([])
        let port = smtpd.port
        let pid = smtpd.pid
        let cutter = Thread {
            let deadline = Date().addingTimeInterval(15)
            switch cut {
            case .atARandomMoment:
                while acknowledged.withLock({ $0.count }) < 20 && Date() < deadline {
                    usleep(5_000)
                }
                usleep(UInt32.random(in: 0...300_000))
            case .atARandomFlush:
                while !mount.log.contains("power off") && Date() < deadline { usleep(5_000) }
            }
            mount.powerOff()  // a second power off changes nothing
            kill(pid, SIGKILL)
        }
        cutter.start()
        onThreads(Self.clients) { client in
            sendUntilGone(port: port, client: client, recipients: recipients) { token in
                acknowledged.withLock { $0.append(token) }
            }
        }
        _ = smtpd.wait(timeout: 10)
        mount.unmount()

        var round = Round()
        // The disk as the machine finds it after the cut: smtpd's next start recovers it.
        let restarted = try SmtpdProcess(
            config: seedConfig(maildir: backing + "/Maildir"), directory: directory,
            extraArguments: [], environment: skip.map { ["MAILLAB_UNSAFE_SKIP_FLUSH": $0] } ?? [:])
        round.recoveryLog = restarted.log
        restarted.stop()
        round.leftInTmp = maildirFiles(backing + "/Maildir", "tmp")
        round.acknowledged = acknowledged.withLock { $0 }
        round.fileSystemLog = mount.log.split(separator: "\n").last.map(String.init) ?? ""
        round.smtpdLog = smtpd.log
        var found: Set<String> = []
        for file in maildirFiles(backing + "/Maildir") {
            if let token = CrashDurabilityTests.wholeToken(readText(file)) {
                found.insert(token)
            } else {
                round.partial.append(file)
            }
        }
        round.stored = found.count
        round.lost = round.acknowledged.filter { !found.contains($0) }
        return round
    }

    /// One client: messages in a loop until the server goes away; `acknowledged` for each
    /// token whose final dot got a 250. With 2 `recipients` a message is stored twice (root
    /// by two names: two `Delivered-To:`, two files).
    static func sendUntilGone(
        port: UInt16, client: Int, recipients: Int = 1, acknowledged: (String) -> Void
    ) {
        guard let connection = try? LineClient(port: port, timeout: 10),
            (try? connection.readReply()) != nil,
            (try? connection.command("HELO power\(client)"))?.hasPrefix("250") == true
        else { return }
        for sequence in 0... {
            let token = "c\(client)-\(sequence)"
            do {
                guard
                    try connection.command("MAIL FROM:<s\(client)@power.example>").hasPrefix("250"),
                    try connection.command("RCPT TO:<root@localhost>").hasPrefix("250"),
                    try recipients < 2
                        || connection.command("RCPT TO:<root@[127.0.0.1]>").hasPrefix("250"),
                    try connection.command("DATA").hasPrefix("354")
                else { return }
                try connection.send(CrashDurabilityTests.body(token) + ".\r\n")
                guard try connection.readReply().joined().hasPrefix("250 ") else { return }
                acknowledged(token)
            } catch {
                return
            }
        }
    }

    /// A file system without a journal writes each directory block back on its own: right
    /// after a `250`, tmp/ alone reaches the disk, then the power goes. The message must
    /// still be there after the restart. It fails when the writer unlinks the tmp/ name
    /// before a flush has covered the new/ name (docs/DURABILITY.md, "The protocol", step 4):
    /// the unlink is then durable and the link is not.
    @Test func aMessageSurvivesWhenTmpAloneIsWrittenBackBeforeAPowerCut() throws {
        let directory = try TempDir("powercut")
        defer { directory.remove() }
        let (mount, backing, mountpoint) = try Self.mount(
            in: directory, metadata: Metadata.onlyWhenFlushed.rawValue, cutAtFlush: 0,
            maildir: true)
        defer { mount.unmount() }
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: mountpoint + "/Maildir"), directory: directory,
            extraArguments: [],
            environment: ["LD_PRELOAD": ExternalTool.powercutFS.programs[1]])
        defer { smtpd.stop() }

        var acknowledged: [String] = []
        let connection = try LineClient(port: smtpd.port, timeout: 10)
        _ = try connection.readReply()
        #expect(try connection.command("HELO power").hasPrefix("250"))
        for sequence in 0..<3 {
            let token = "c9-\(sequence)"
            #expect(try connection.command("MAIL FROM:<s@power.example>").hasPrefix("250"))
            #expect(try connection.command("RCPT TO:<root@localhost>").hasPrefix("250"))
            #expect(try connection.command("DATA").hasPrefix("354"))
            try connection.send(CrashDurabilityTests.body(token) + ".\r\n")
            guard try connection.readReply().joined().hasPrefix("250 ") else { break }
            acknowledged.append(token)
            #expect(mount.writeBack(mountpoint + "/Maildir/tmp"))
        }
        mount.powerOff()
        kill(smtpd.pid, SIGKILL)
        _ = smtpd.wait(timeout: 10)
        mount.unmount()

        let restarted = try SmtpdProcess(
            config: seedConfig(maildir: backing + "/Maildir"), directory: directory,
            extraArguments: [])
        restarted.stop()
        let found = Set(
            maildirFiles(backing + "/Maildir").compactMap {
                CrashDurabilityTests.wholeToken(readText($0))
            })
        #expect(acknowledged.count == 3)
        #expect(
            acknowledged.filter { !found.contains($0) } == [],
            "lost; powercut-fs: \(mount.log); smtpd: \(restarted.log)")
    }

    /// The model's own promise, without smtpd: flushed data and names survive, the rest not.
    @Test func powercutFSKeepsOnlyWhatWasFlushed() throws {
        let directory = try TempDir("powercut")
        defer { directory.remove() }
        let (mount, backing, mountpoint) = try Self.mount(
            in: directory, metadata: "0", cutAtFlush: 0, maildir: false)
        defer { mount.unmount() }

        func write(_ name: String, _ text: String, fsync flush: Bool) throws {
            let fd = open(mountpoint + "/" + name, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            guard fd >= 0 else { throw TestFailure("open \(name): errno \(errno)") }
            _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
            if flush { #expect(fsync(fd) == 0) }
            close(fd)
        }
        func flushFolder(_ name: String) {
            let fd = open(mountpoint + "/" + name, O_RDONLY | O_DIRECTORY)
            #expect(fsync(fd) == 0)
            close(fd)
        }
        #expect(mkdir(mountpoint + "/d", 0o700) == 0)
        try write("d/flushed", "data", fsync: true)
        try write("d/unflushed", "data", fsync: false)
        flushFolder("")
        flushFolder("d")
        #expect(link(mountpoint + "/d/flushed", mountpoint + "/d/linked") == 0)
        try write("d/late", "data", fsync: true)
        mount.powerOff()
        let after = open(mountpoint + "/d/after", O_CREAT | O_WRONLY, 0o600)
        #expect(after < 0 && errno == EIO, "nothing but EIO after the power off")
        mount.unmount()

        let names = try FileManager.default.contentsOfDirectory(atPath: backing + "/d").sorted()
        #expect(names == ["flushed", "unflushed"], "names not flushed are gone")
        #expect(readText(backing + "/d/flushed") == "data")
        #expect(readText(backing + "/d/unflushed") == "", "a name flushed without its data")
    }
}
