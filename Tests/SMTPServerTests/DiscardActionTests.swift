import Foundation
import Glibc
import SMTPConfig
import Testing

@testable import SMTPServer

/// MailLab's `maildir "/dev/null"` action: the whole dialogue runs, the client is told 250,
/// and nothing is stored.
@Suite struct DiscardActionTests {
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

        let client = try LineClient(port: port)
        var codes = [try client.readReply().last.map { String($0.prefix(4)) }]
        for command in [
            "EHLO t\r\n", "MAIL FROM:<a@b.test>\r\n", "RCPT TO:<c@d.test>\r\n", "DATA\r\n",
            "Subject: x\r\n\r\nbody\r\n.\r\n", "QUIT\r\n",
        ] {
            try client.send(command)
            codes.append(try client.readReply().last.map { String($0.prefix(4)) })
        }

        #expect(codes == ["220 ", "250 ", "250 ", "250 ", "354 ", "250 ", "221 "])
        let message = try #require(server.messages.last)
        #expect(message.files.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/dev/null/new"))
    }
}
