import Foundation
import Glibc
import SMTPConfig
import Testing

@testable import SMTPServer

/// The SMTPServer changes made for the benchmarks (issue 6): the no-storage action, the
/// bounded message feed, the user cache and the byte-wise slash replacement.
@Suite struct BenchmarkChangesTests {
    /// One SMTP dialogue on a blocking socket; returns every reply line.
    private func converse(port: UInt16, _ commands: [String]) throws -> [String] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
        var received = ""
        func readReply() {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let lines = received.split(separator: "\r\n", omittingEmptySubsequences: true)
                if received.hasSuffix("\r\n"), let last = lines.last, last.count >= 4,
                    last[last.index(last.startIndex, offsetBy: 3)] == " "
                {
                    return
                }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return }
                received += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        var replies: [String] = []
        readReply()
        replies.append(received)
        for command in commands {
            received = ""
            _ = command.withCString { send(fd, $0, strlen($0), 0) }
            readReply()
            replies.append(received)
        }
        return replies
    }

    /// A port the kernel just handed out (the config grammar refuses port 0).
    private func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        return UInt16(bigEndian: address.sin_port)
    }

    @Test func devNullMaildirDiscardsAfterTheWholeDialogue() throws {
        let scratch = NSTemporaryDirectory() + "maillab-discard-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let text = """
            listen on 127.0.0.1 port \(try freePort())
            action "drop" maildir "/dev/null" virtual { "@" = "nobody" }
            match from any for any action "drop"
            """
        let configuration = try SMTPConfiguration.parse(text, fileName: "t.conf") { _ in "" }
        var options = MailServer.Options()
        options.loops = 1
        options.workingDirectory = scratch
        options.users = TableUsers(entries: ["nobody": "65534:65534:/nonexistent"])
        let server = try MailServer(configuration: configuration, options: options)
        try server.start()
        defer { server.stop() }
        let port = try #require(server.addresses.first?.port)

        let replies = try converse(
            port: port,
            [
                "EHLO t\r\n", "MAIL FROM:<a@b.test>\r\n", "RCPT TO:<c@d.test>\r\n", "DATA\r\n",
                "Subject: x\r\n\r\nbody\r\n.\r\n", "QUIT\r\n",
            ])

        #expect(replies.count == 7)
        #expect(replies[5].hasPrefix("250 "))
        let message = try #require(server.messages.last)
        #expect(message.files.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/dev/null/new"))
    }

    @Test func feedKeepsAtMost32MiBOfContent() {
        let feed = MessageFeed()
        let mebibyte = [UInt8](repeating: 0x61, count: 1 << 20)
        for index in 0..<40 {
            feed.publish(
                DeliveredMessage(
                    id: "\(index)", sender: "", recipients: [], content: mebibyte, files: []))
        }
        let kept = feed.all
        #expect(kept.count == 32)
        #expect(kept.last?.id == "39")
        #expect(kept.first?.id == "8")
    }

    @Test func userCacheAnswersUntilItExpires() {
        let cache = UserCache()
        let user = LocalUser(name: "u", home: "/home/u")
        cache.store("u", user, expires: 100)
        cache.store("ghost", nil, expires: 100)
        #expect(cache.lookup("u", now: 50)?.user == user)
        #expect(cache.lookup("ghost", now: 50).map { $0.user == nil } == true)
        #expect(cache.lookup("u", now: 100) == nil)
        #expect(cache.lookup("other", now: 50) == nil)
    }

    @Test func slashesBecomeColonsAndOtherTextIsKept() {
        #expect("a/b/c".replacingSlashes() == "a:b:c")
        #expect("plain".replacingSlashes() == "plain")
        #expect("ü/ß".replacingSlashes() == "ü:ß")
    }
}
