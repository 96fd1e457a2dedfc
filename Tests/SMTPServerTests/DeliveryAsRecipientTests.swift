import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import SMTPConfig
import Testing

@testable import SMTPServer

/// A root smtpd writes a local user's home Maildir, and the Maildir of an action with
/// `user NAME`, as that user: the files are theirs, and the kernel refuses what they may not
/// do (a 4xx, nothing written). Each test makes a throwaway system user and removes it.
@Suite(.enabled(if: ThrowawayUser.canCreate, "needs root and useradd"))
struct DeliveryAsRecipientTests {
    /// A scratch folder others may search, a throwaway user whose home is in it (made 0700,
    /// the user's), and the cleanup of both.
    final class Recipient {
        let scratch: TempDir
        let user: ThrowawayUser
        var home: String { user.home }

        init(makeHome: Bool = true) throws {
            scratch = try TempDir("asuser")
            chmod(scratch.path, 0o755)
            do {
                user = try ThrowawayUser(prefix: "mlrc", home: scratch.path + "/home")
            } catch {
                scratch.remove()
                throw error
            }
            if makeHome {
                mkdir(home, 0o700)
                chown(home, user.user, user.group)
            }
        }

        func remove() {
            user.remove()
            scratch.remove()
        }
    }

    /// Sends one message to `rcpt` and returns the reply to the final dot.
    func send(to rcpt: String, port: UInt16) throws -> String {
        let client = try LineClient(port: port)
        _ = try client.readReply()
        _ = try client.command("EHLO client.example")
        _ = try client.command("MAIL FROM:<a@client.example>")
        let accepted = try client.command("RCPT TO:<\(rcpt)>")
        guard accepted.hasPrefix("250") else { return accepted }
        _ = try client.command("DATA")
        try client.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        let reply = try client.readReply().joined()
        _ = try client.command("QUIT")
        return reply
    }

    func server(_ config: String) throws -> InProcessServer {
        try InProcessServer(config: config) { $0.users = SystemUsers() }
    }

    @Test func aHomeMaildirGetsFilesOwnedByTheRecipient0600InFolders0700() throws {
        let recipient = try Recipient()
        defer { recipient.remove() }
        let server = try server(
            """
            listen on 127.0.0.1
            action "home" maildir "%{user.directory}/Maildir"
            match from any for any action "home"
            """)
        defer { server.stop() }

        let reply = try send(to: recipient.user.name + "@localhost", port: server.port)

        #expect(reply.hasPrefix("250 2.0.0"), "\(reply)")
        let maildir = recipient.home + "/Maildir"
        for folder in ["", "/tmp", "/new", "/cur"].map({ maildir + $0 }) {
            #expect(mode(of: folder) == 0o700, "\(folder)")
            #expect(owner(of: folder) == [recipient.user.user, recipient.user.group], "\(folder)")
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: maildir + "/new")) ?? []
        let file = maildir + "/new/" + (try #require(files.first))
        #expect(files.count == 1)
        #expect(mode(of: file) == 0o600)
        #expect(owner(of: file) == [recipient.user.user, recipient.user.group])
    }

    /// Root could write into a root-owned 0755 folder in the home; the recipient cannot, so
    /// the client hears a temporary failure and the folder stays empty.
    @Test func aMaildirTheRecipientCannotWriteAnswers451AndStaysEmpty() throws {
        let recipient = try Recipient()
        defer { recipient.remove() }
        let maildir = recipient.home + "/Maildir"
        #expect(mkdir(maildir, 0o755) == 0)
        let server = try server(
            """
            listen on 127.0.0.1
            action "home" maildir
            match from any for any action "home"
            """)
        defer { server.stop() }

        let reply = try send(to: recipient.user.name + "@localhost", port: server.port)

        #expect(
            reply
                == "451 4.2.0 Mailbox unavailable (permission denied to its owner), message not stored\r\n"
        )
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: maildir)) ?? ["?"]).isEmpty)
        #expect(
            server.log.lines.contains {
                $0.contains("result=TempFail")
                    && $0.contains("write as the mailbox owner \(maildir)/tmp")
            }, "\(server.log.lines)")
    }

    /// `user NAME`: a fixed path outside any home, written as NAME.
    @Test func anActionWithUserWritesAsThatUser() throws {
        let recipient = try Recipient()
        defer { recipient.remove() }
        let boxes = recipient.scratch.path + "/boxes"
        #expect(mkdir(boxes, 0o755) == 0)
        chown(boxes, recipient.user.user, recipient.user.group)
        let server = try server(
            """
            listen on 127.0.0.1
            action "shared" maildir "\(boxes)/shared" user \(recipient.user.name)
            match from any for any action "shared"
            """)
        defer { server.stop() }

        let reply = try send(to: "root@localhost", port: server.port)

        #expect(reply.hasPrefix("250 2.0.0"), "\(reply)")
        let files =
            (try? FileManager.default.contentsOfDirectory(atPath: boxes + "/shared/new")) ?? []
        #expect(files.count == 1)
        for path in [boxes + "/shared", boxes + "/shared/new"]
            + files.map({ boxes + "/shared/new/" + $0 })
        {
            #expect(owner(of: path)?.first == recipient.user.user, "\(path)")
        }
    }

    /// A fixed path outside every home (a lab's) is written as smtpd, as before.
    @Test func aFixedPathOutsideHomesIsWrittenAsSmtpd() throws {
        let recipient = try Recipient()
        defer { recipient.remove() }
        let server = try server(
            """
            listen on 127.0.0.1
            action "lab" maildir "\(recipient.scratch.path)/lab"
            match from any for any action "lab"
            """)
        defer { server.stop() }

        let reply = try send(to: recipient.user.name + "@localhost", port: server.port)

        #expect(reply.hasPrefix("250 2.0.0"), "\(reply)")
        let files =
            (try? FileManager.default.contentsOfDirectory(
                atPath: recipient.scratch.path + "/lab/new")) ?? []
        #expect(files.count == 1)
        #expect(files.map { owner(of: recipient.scratch.path + "/lab/new/" + $0)?.first } == [0])
    }
}

@Suite struct ActionUserCheckTests {
    /// `smtpd -n`: `user NAME` of a user that does not exist is a FILE:LINE error.
    @Test func anActionUserThatDoesNotExistIsAnError() throws {
        let configuration = try SMTPConfiguration.parse(
            """
            listen on 127.0.0.1 port 2525
            action "ok" maildir "/srv/mail/box" user root
            action "bad" maildir "/srv/mail/box" user nosuchuser-mltest
            match from any for local action "ok"
            """, fileName: "user.conf", includeLoader: { _ in "" })
        var options = MailServer.Options()
        options.serverName = "vm"
        options.users = FakeUsers(names: ["root"])
        #expect {
            _ = try ServerPlan(configuration, options: options)
        } throws: { error in
            "\(error)" == "user.conf:3: action \"bad\": user nosuchuser-mltest: no such user"
        }
    }
}

private func owner(of path: String) -> [UInt32]? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return [info.st_uid, info.st_gid]
}

private func mode(of path: String) -> UInt32? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}
