import Foundation
import Glibc
import MaildirDelivery
import Testing

@testable import SMTPServer

/// A Maildir whose `tmp/`, `new/` or `cur/` is a symbolic link: the client hears a temporary
/// failure (the mail waits, nothing bounces), the log names the link, the target is untouched.
@Suite struct SymlinkedMaildirReplyTests {
    @Test(.testServer(config: localDeliveryConfig), arguments: ["tmp", "new", "cur"])
    func aLinkedFolderAnswers451AndTheLogNamesIt(folder: String) throws {
        let server = try TraitServer.current()
        let outside = try TempDir("symlink-target")
        defer { outside.remove() }
        let victim = try outside.write("1700000000.M1P1Q1.victim", "keep\n")
        try Maildir(root: server.maildir).prepare()
        let linked = server.maildir + "/" + folder
        try FileManager.default.removeItem(atPath: linked)
        try FileManager.default.createSymbolicLink(
            atPath: linked, withDestinationPath: outside.path)

        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        _ = try client.command("MAIL FROM:<a@client.example>")
        _ = try client.command("RCPT TO:<root@localhost>")
        _ = try client.command("DATA")
        try client.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        let reply = try client.readReply().joined()
        _ = try client.command("QUIT")

        #expect(
            reply == "451 4.2.0 Mailbox unavailable (symbolic link refused), message not stored\r\n"
        )
        #expect(
            server.log.lines.contains {
                $0.contains("result=TempFail") && $0.contains("refuse symbolic link \(linked):")
            }, "\(server.log.lines)")
        #expect(readText(victim) == "keep\n")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: outside.path))?.count == 1)
    }

    /// At start, a Maildir whose tmp/ is a link is not swept: the log says so, the old
    /// Maildir-named file behind the link stays.
    @Test func theStartSweepLeavesALinkedTmpAloneAndSaysSo() throws {
        let outside = try TempDir("sweep-target")
        defer { outside.remove() }
        let victim = try outside.write("1700000000.M1P4194305Q1.h", "keep\n")
        var old = [
            timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0),
        ]
        #expect(utimensat(AT_FDCWD, victim, &old, 0) == 0)
        let scratch = try TempDir("sweep-maildir")
        defer { scratch.remove() }
        let maildir = scratch.path + "/Maildir"
        try Maildir(root: maildir).prepare()
        try FileManager.default.removeItem(atPath: maildir + "/tmp")
        try FileManager.default.createSymbolicLink(
            atPath: maildir + "/tmp", withDestinationPath: outside.path)

        let server = try InProcessServer(
            config: localDeliveryConfig.replacingOccurrences(of: "@MAILDIR@", with: maildir))
        defer { server.stop() }

        #expect(readText(victim) == "keep\n")
        #expect(
            server.log.lines.contains {
                $0.hasPrefix("warn: stale files of \(maildir)/tmp left alone: refuse symbolic link")
            }, "\(server.log.lines)")
    }
}
