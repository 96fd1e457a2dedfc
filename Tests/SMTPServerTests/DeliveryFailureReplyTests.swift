import Foundation
import Glibc
import MailLabTestSupport
import Testing

@testable import SMTPServer

/// What the client hears after the final dot when the store fails, against real file
/// systems: each failure gives the one reply its errno maps to, the session goes on, and
/// nothing partial is left behind.
@Suite(.enabled(if: isRoot, "needs root to mount a tmpfs"))
struct DeliveryFailureReplyTests {
    /// A Maildir on a 512 KiB tmpfs: a full disk gives `452 4.3.1`, and the server stores the
    /// next message once there is room again.
    @Test func aFullDiskAnswers452AndLeavesNothingAndServingGoesOnOnceThereIsRoom() throws {
        let mountPoint = try TempDir("fulldisk")
        defer { mountPoint.remove() }
        try #require(
            mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=512k,mode=0700") == 0,
            "mount tmpfs: errno \(errno)")
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let maildir = mountPoint.path + "/Maildir"
        let server = try InProcessServer(config: config(maildir: maildir))
        defer { server.stop() }

        func send(_ body: String) throws -> String { try finalReply(port: server.port, body) }
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
        // The first message's tmp/ name goes with the flush after its link (DURABILITY.md).
        #expect(
            eventually { maildirFiles(maildir, "tmp").isEmpty }, "a partial file stayed in tmp/")
        #expect(maildirFiles(maildir).count == 1, "only the first message is in new/")

        unlink(filler)
        #expect(
            try send("Subject: again\r\n\r\n" + String(repeating: line, count: 64)).hasPrefix(
                "250 2.0.0 "))
        #expect(maildirFiles(maildir).count == 2)
        #expect(eventually { maildirFiles(maildir, "tmp").isEmpty })
    }

    /// A Maildir below a regular file (ENOTDIR): permanent, one well-formed 5xx line.
    @Test func aMaildirBelowAFileIsAPermanentFailureInOneLine() throws {
        let directory = try TempDir("notdir")
        defer { directory.remove() }
        let file = try directory.write("file", "not a folder\n")
        let server = try InProcessServer(config: config(maildir: file + "/Maildir"))
        defer { server.stop() }
        #expect(
            try finalReply(port: server.port, "Subject: x\r\n\r\nbody")
                == "554 5.2.0 Mailbox unavailable, message not stored\r\n")
    }

    /// A read-only file system (EROFS) is temporary: the administrator remounts, the client
    /// retries.
    @Test func aReadOnlyFileSystemIsATemporaryFailure() throws {
        let mountPoint = try TempDir("rofs")
        defer { mountPoint.remove() }
        try #require(
            mount("tmpfs", mountPoint.path, "tmpfs", UInt(MS_RDONLY), "size=64k") == 0,
            "mount tmpfs: errno \(errno)")
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let server = try InProcessServer(config: config(maildir: mountPoint.path + "/Maildir"))
        defer { server.stop() }
        #expect(
            try finalReply(port: server.port, "Subject: x\r\n\r\nbody")
                == "451 4.3.0 Temporary failure, message not stored\r\n")
    }
}

private func config(maildir: String) -> String {
    """
    listen on 127.0.0.1 port 2525
    action "local" maildir "\(maildir)"
    match from any for local action "local"
    """
}

/// One message from a fresh session; the reply to its final dot (CRLF included).
private func finalReply(port: UInt16, _ body: String) throws -> String {
    let client = try LineClient(port: port)
    _ = try client.readReply()
    _ = try client.command("EHLO client.example")
    _ = try client.command("MAIL FROM:<a@client.example>")
    _ = try client.command("RCPT TO:<root@localhost>")
    _ = try client.command("DATA")
    try client.send(body + "\r\n.\r\n")
    let reply = try client.readReply().joined()
    // The session goes on after a failed delivery.
    #expect(try client.command("NOOP").hasPrefix("250 "))
    _ = try client.command("QUIT")
    return reply
}
