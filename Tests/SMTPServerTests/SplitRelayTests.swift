import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// A relaying smtpd started as root splits like any other (docs/PRIVILEGES.md): the queue,
/// its spool and its sessions to next hops are the network side's, as `_maillab`, through
/// the spool folder its parent readied and opened; local copies and bounces still go
/// through the parent.
@Suite(.serialized) struct SplitRelayTests {
    /// A next hop: smtpd accepting every recipient but `nosuch@…` into `maildir`.
    static func nextHop(_ directory: TempDir, port: UInt16? = nil) throws -> SmtpdProcess {
        try SmtpdProcess(
            config: """
                listen on 127.0.0.1 port @PORT@
                action "in" maildir "\(directory.path)/hop"
                match from any for any action "in"
                """, directory: directory, port: port, extraArguments: [])
    }

    /// `oneProcess`: with `MAILLAB_NO_SPLIT=1`.
    static func relaying(_ directory: TempDir, to hop: UInt16, oneProcess: Bool = false) throws
        -> SmtpdProcess
    {
        try ProcessSplitTests.ensureUnprivilegedUser()
        return try SmtpdProcess(
            config: """
                listen on 127.0.0.1 port @PORT@
                queue directory "\(directory.path)/spool"
                queue retry 1s 1s
                action "out" relay host "smtp://127.0.0.1:\(hop)"
                action "local" maildir "\(directory.path)/Maildir"
                match from any for domain "local.test" action "local"
                match from any for any action "out"
                """, directory: directory, extraArguments: [],
            environment: oneProcess ? ["MAILLAB_NO_SPLIT": "1"] : [:])
    }

    static func send(_ port: UInt16, from: String, to: [String], subject: String) throws
        -> [String]
    {
        let client = try LineClient(port: port)
        var replies = [try client.readReply().joined()]
        replies.append(try client.command("EHLO split.example"))
        replies.append(try client.command("MAIL FROM:<\(from)>"))
        for recipient in to { replies.append(try client.command("RCPT TO:<\(recipient)>")) }
        replies.append(try client.command("DATA"))
        replies.append(try client.command("Subject: \(subject)\r\n\r\nbody\r\n."))
        _ = try? client.command("QUIT")
        return replies
    }

    static func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map {
            folder + "/" + $0
        }
    }

    static func waitForFile(in folder: String, containing text: String, timeout: Double = 10)
        -> String?
    {
        poll(within: timeout) { files(folder).first { readText($0).contains(text) } }
    }

    static func owner(_ path: String) -> (uid: uid_t, mode: mode_t)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_uid, info.st_mode & 0o7777)
    }

    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func aRelayingServerSplitsAndItsNetworkSideRunsTheQueue() throws {
        let directory = try TempDir("split-relay")
        defer { directory.remove() }
        let hop = try Self.nextHop(directory)
        defer { hop.stop() }
        let smtpd = try Self.relaying(directory, to: hop.port)
        defer { smtpd.stop() }
        let child = try #require(smtpd.networkSidePID, "no network side: \(smtpd.log)")
        #expect(!smtpd.log.contains("one process"), "\(smtpd.log)")
        let user = try #require(getpwnam("_maillab")).pointee.pw_uid

        // One message for a local and a relayed recipient: both copies, each by its side.
        let replies = try Self.send(
            smtpd.port, from: "root@local.test", to: ["root@local.test", "root@remote.test"],
            subject: "mixed")
        #expect(replies.last?.hasPrefix("250 ") == true, "\(replies)")
        let local = try #require(
            Self.waitForFile(in: directory.path + "/Maildir/new", containing: "mixed"))
        #expect(Self.owner(local)?.uid == 0)
        #expect(Self.waitForFile(in: directory.path + "/hop/new", containing: "mixed") != nil)
        // The spool file was named by its writer, the network side (P<pid> in the name).
        #expect(
            smtpd.waitForLog("P\(child)Q") && smtpd.waitForLog("to=<root@remote.test> delivered"),
            "\(smtpd.log)")

        // The spool: its folder stays root's (passed through, not listed); what is in it is
        // the network side's.
        let spool = directory.path + "/spool"
        #expect(Self.owner(spool)?.uid == 0)
        #expect(Self.owner(spool).map { $0.mode & 0o077 == 0o011 } == true)
        for name in ["tmp", "new", "cur", "lock"] {
            #expect(Self.owner(spool + "/" + name)?.uid == user, "\(name)")
        }

        // A bounce to a local sender: made by the queue, stored by the parent.
        let bounced = try Self.send(
            smtpd.port, from: "root@local.test", to: ["nosuch@remote.test"], subject: "refused")
        #expect(bounced.last?.hasPrefix("250 ") == true, "\(bounced)")
        let notice = try #require(
            Self.waitForFile(in: directory.path + "/Maildir/new", containing: "nosuch@remote.test"),
            "\(smtpd.log)")
        #expect(Self.owner(notice)?.uid == 0)
        #expect(Self.files(spool + "/new").isEmpty, "\(Self.files(spool + "/new"))")
    }

    /// A message waiting in the spool is the new network side's once the old one is killed.
    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func aDeferredMessageOutlivesItsNetworkSide() throws {
        let directory = try TempDir("split-relay-restart")
        defer { directory.remove() }
        let hopPort = try freePort()  // nothing listens there yet: deferred
        let smtpd = try Self.relaying(directory, to: hopPort)
        defer { smtpd.stop() }
        let first = try #require(smtpd.networkSidePID, "no network side: \(smtpd.log)")
        let replies = try Self.send(
            smtpd.port, from: "root@local.test", to: ["root@remote.test"], subject: "waits")
        #expect(replies.last?.hasPrefix("250 ") == true, "\(replies)")
        #expect(smtpd.waitForLog("to=<root@remote.test> deferred"), "\(smtpd.log)")
        #expect(Self.files(directory.path + "/spool/new").count == 1)

        kill(first, SIGKILL)
        let second = try #require(
            ProcessSplitTests.waitForNewNetworkSide(smtpd, other: first), "\(smtpd.log)")
        #expect(
            smtpd.waitForLog("resumed 1 message(s)"), "network side \(second): \(smtpd.log)")
        let hop = try Self.nextHop(directory, port: hopPort)
        defer { hop.stop() }
        // `queue retry 1s 1s`: the next attempt finds the next hop up.
        #expect(
            Self.waitForFile(in: directory.path + "/hop/new", containing: "waits", timeout: 15)
                != nil, "\(smtpd.log)")
        #expect(smtpd.waitForLog("to=<root@remote.test> delivered", timeout: 10), "\(smtpd.log)")
    }
}
