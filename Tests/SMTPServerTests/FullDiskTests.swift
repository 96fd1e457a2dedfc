import Foundation
import Glibc
import Testing

@testable import SMTPServer

/// A Maildir on a real, small file system (a 512 KiB tmpfs mounted for the test): a full
/// disk must give the client `452 4.3.1` after the final dot, leave nothing partial behind,
/// and the server must keep serving once there is room again.
@Suite(.enabled(if: isRoot, "needs root to mount a tmpfs"))
struct FullDiskTests {
    @Test func aFullDiskAnswers452AndLeavesNothingAndServingGoesOnOnceThereIsRoom() throws {
        let mountPoint = try TempDir("fulldisk")
        defer { mountPoint.remove() }
        try #require(
            mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=512k,mode=0700") == 0,
            "mount tmpfs: errno \(errno)")
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let maildir = mountPoint.path + "/Maildir"
        let server = try InProcessServer(
            config: """
                listen on 127.0.0.1 port 2525
                action "local" maildir "\(maildir)"
                match from any for local action "local"
                """)
        defer { server.stop() }

        func send(_ body: String) throws -> String {
            let client = try LineClient(port: server.port)
            _ = try client.readReply()
            _ = try client.command("EHLO client.example")
            _ = try client.command("MAIL FROM:<a@client.example>")
            _ = try client.command("RCPT TO:<root@localhost>")
            _ = try client.command("DATA")
            try client.send(body + "\r\n.\r\n")
            let reply = try client.readReply().joined()
            _ = try client.command("QUIT")
            return reply
        }
        let line = String(repeating: "x", count: 998) + "\r\n"

        #expect(try send("Subject: first\r\n\r\nsmall").hasPrefix("250 2.0.0 "))
        #expect(maildirFiles(maildir).count == 1)

        // Fill what is left, then send a message bigger than any last scrap of room.
        let filler = mountPoint.path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        let block = [UInt8](repeating: 0x41, count: 4096)
        while write(fd, block, block.count) > 0 {}
        #expect(errno == ENOSPC)
        close(fd)
        let full = try send("Subject: big\r\n\r\n" + String(repeating: line, count: 64))
        #expect(full == "452 4.3.1 Insufficient system storage, message not stored\r\n")
        #expect(maildirFiles(maildir, "tmp").isEmpty, "a partial file stayed in tmp/")
        #expect(maildirFiles(maildir).count == 1, "only the first message is in new/")

        unlink(filler)
        #expect(
            try send("Subject: again\r\n\r\n" + String(repeating: line, count: 64)).hasPrefix(
                "250 2.0.0 "))
        #expect(maildirFiles(maildir).count == 2)
        #expect(maildirFiles(maildir, "tmp").isEmpty)
    }
}
