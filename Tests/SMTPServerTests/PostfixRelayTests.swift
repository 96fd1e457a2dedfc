import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// Interop with a real MTA both ways, on loopback: Postfix (private configuration and queue,
/// as in bench/) is the next hop our relay hands mail to (its virtual(8) Maildir receives
/// it), and a client relaying to us (`relayhost = [127.0.0.1]:PORT`). Postfix never looks
/// anything up (`smtp_dns_support_level = disabled`, a bracketed relayhost) and listens on
/// 127.0.0.1 only.
///
/// Skipped (not failed, also in CI) without Postfix: `make deps` does not install it yet,
/// since a plain `apt-get install postfix` starts a system Postfix; bench/run.sh installs it
/// without starting anything.
@Suite(
    .enabled(if: isRoot, "needs root"),
    .enabled(
        if: ExternalTool.postfix.isInstalled,
        "Postfix is not installed (bench/run.sh installs it without starting a service)"),
    .serialized)
struct PostfixRelayTests {
    /// A private Postfix in `directory`: accepts `bob@there.lab` into `boxes/bob/`, relays
    /// everything else to 127.0.0.1:`relayPort`.
    final class PrivatePostfix {
        let directory: TempDir
        let port: UInt16
        var config: String { directory.path + "/conf" }
        var mailbox: String { directory.path + "/boxes/bob" }
        private(set) var started = false

        init(relayPort: UInt16) throws {
            directory = try TempDir("postfix")
            port = try freePort()
            let root = directory.path
            // Postfix's daemons run as postfix: they must reach the queue and the Maildirs.
            chmod(root, 0o755)
            for sub in ["conf", "spool", "data", "boxes"] {
                try FileManager.default.createDirectory(
                    atPath: root + "/" + sub, withIntermediateDirectories: true)
            }
            let postfix = getpwnam("postfix")
            guard let postfix else { throw TestFailure("no postfix user") }
            let uid = postfix.pointee.pw_uid
            let gid = postfix.pointee.pw_gid
            chown(root + "/data", uid, gid)
            chown(root + "/boxes", uid, gid)
            _ = try directory.write(
                "conf/main.cf",
                """
                compatibility_level = 3.6
                queue_directory = \(root)/spool
                data_directory = \(root)/data
                command_directory = /usr/sbin
                daemon_directory = /usr/lib/postfix/sbin
                meta_directory = /etc/postfix
                shlib_directory = /usr/lib/postfix
                mail_owner = postfix
                setgid_group = postdrop
                myhostname = postfix.lab
                mydomain = lab
                myorigin = postfix.lab
                inet_interfaces = loopback-only
                inet_protocols = ipv4
                mydestination =
                local_transport = error:no local delivery
                mynetworks = 127.0.0.0/8
                relayhost = [127.0.0.1]:\(relayPort)
                smtp_dns_support_level = disabled
                smtp_tls_security_level = none
                virtual_mailbox_domains = there.lab
                virtual_mailbox_base = \(root)/boxes
                virtual_mailbox_maps = inline:{ bob@there.lab=bob/ }
                virtual_uid_maps = static:\(uid)
                virtual_gid_maps = static:\(gid)
                smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
                alias_maps =
                alias_database =
                biff = no
                maillog_file = \(root)/maillog
                maillog_file_prefixes = \(root)

                """)
            _ = try directory.write(
                "conf/master.cf",
                """
                127.0.0.1:\(port) inet n - n - - smtpd
                pickup    unix n - n 60 1 pickup
                cleanup   unix n - n - 0 cleanup
                qmgr      unix n - n 300 1 qmgr
                rewrite   unix - - n - - trivial-rewrite
                bounce    unix - - n - 0 bounce
                defer     unix - - n - 0 bounce
                trace     unix - - n - 0 bounce
                verify    unix - - n - 1 verify
                proxymap  unix - - n - - proxymap
                showq     unix n - n - - showq
                error     unix - - n - - error
                retry     unix - - n - - error
                discard   unix - - n - - discard
                smtp      unix - - n - - smtp
                relay     unix - - n - - smtp
                virtual   unix - n n - - virtual
                anvil     unix - - n - 1 anvil
                scache    unix - - n - 1 scache
                postlog   unix-dgram n - n - 1 postlogd

                """)
        }

        func start() throws {
            let result = try runProgram("/usr/sbin/postfix", ["-c", config, "start"])
            guard result.status == 0 else {
                throw TestFailure(
                    "postfix start: \(result.output)\(result.errorOutput)\(log)")
            }
            started = true
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                if (try? LineClient(host: "127.0.0.1", port: port, timeout: 1)) != nil { return }
                usleep(50_000)
            }
            throw TestFailure("postfix does not listen on \(port): \(log)")
        }

        var log: String { readText(directory.path + "/maillog") }

        /// Stops the master (and so its children) started by `start`; removes the files.
        func stop() {
            if started {
                _ = try? runProgram("/usr/sbin/postfix", ["-c", config, "stop"])
                started = false
            }
            directory.remove()
        }
    }

    @Test func ourRelayHandsMailToPostfix() throws {
        let ourPort = try freePort()
        let postfix = try PrivatePostfix(relayPort: ourPort)
        defer { postfix.stop() }
        try postfix.start()
        let relay = try InProcessServer(
            config: RelayQueueTests.relayConfig(nextHop: postfix.port)
        ) { $0.relayTimeoutSeconds = 10 }
        defer { relay.stop() }
        let reply = try sendMail(
            host: "127.0.0.1", port: relay.port, from: "alice@here.lab", to: ["bob@there.lab"],
            subject: "to postfix", body: "über den relay")
        #expect(reply.hasPrefix("250 "), "\(reply)")
        let files = waitForFiles(postfix.mailbox, count: 1, timeout: 30)
        try #require(files.count == 1, "postfix: \(postfix.log)\nrelay: \(relay.log.lines)")
        let text = readText(files[0])
        #expect(text.contains("Subject: to postfix\n"), "\(text)")
        #expect(text.contains("by postfix.lab (Postfix) with ESMTP"), "\(text)")
        #expect(text.contains("über den relay"))
        #expect(eventually(within: 5) { maildirFiles(relay.maildir + ".spool").isEmpty })
    }

    @Test func postfixRelaysMailToUs() throws {
        let us = try InProcessServer(config: RelayQueueTests.relayConfig(nextHop: 9))
        defer { us.stop() }
        let postfix = try PrivatePostfix(relayPort: us.port)
        defer { postfix.stop() }
        try postfix.start()
        let reply = try sendMail(
            host: "127.0.0.1", port: postfix.port, from: "carol@postfix.lab",
            to: ["alice@here.lab"], subject: "from postfix")
        #expect(reply.hasPrefix("250 "), "\(reply)")
        let files = waitForFiles(us.maildir, count: 1, timeout: 30)
        try #require(files.count == 1, "postfix: \(postfix.log)")
        let text = readText(files[0])
        #expect(text.hasPrefix("Return-Path: <carol@postfix.lab>\n"), "\(text)")
        #expect(text.contains("Subject: from postfix\n"))
        // Our Received line names Postfix's EHLO; below it Postfix's own.
        #expect(text.contains("Received: from postfix.lab ("), "\(text)")
        #expect(text.contains("by postfix.lab (Postfix)"), "\(text)")
    }
}
