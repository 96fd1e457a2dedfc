import Foundation
import Glibc
import Testing

@testable import SMTPServer

/// `SIZE=` beyond the free space of the Maildir's file system (a small tmpfs): 452 4.3.1 at
/// MAIL, before the client sends a byte of the message; a SIZE that fits goes on.
@Suite(.enabled(if: isRoot, "needs root to mount a tmpfs"))
struct SizeAgainstFreeSpaceTests {
    @Test func aSizeBeyondTheFreeSpaceOfASmallTmpfsIs452AtMail() throws {
        let mountPoint = try TempDir("size-tmpfs")
        defer { mountPoint.remove() }
        try #require(
            mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=256k,mode=0700") == 0,
            "mount tmpfs: errno \(errno)")
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let server = try InProcessServer(
            config: """
                listen on 127.0.0.1 port 2525
                action "local" maildir "\(mountPoint.path)/Maildir"
                match from any for local action "local"
                """)
        defer { server.stop() }
        let client = try LineClient(port: server.port)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")

        #expect(
            try client.command("MAIL FROM:<a@client.example> SIZE=1048576")
                == "452 4.3.1 Insufficient system storage")
        #expect(try client.command("MAIL FROM:<a@client.example> SIZE=1024") == "250 2.0.0 Ok")
        #expect(try client.command("QUIT").hasPrefix("221 "))
    }
}
