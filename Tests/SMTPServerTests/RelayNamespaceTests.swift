import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import Synchronization
import Testing

/// The relay across namespaces, with the real smtpd in each: gruen (the sender's server)
/// → blau (a relay) → rot (the recipient's server), each a namespace of its own joined by
/// veths; queues in their own spool directories (`queue directory`).
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .smtpd))
struct RelayNamespaceTests {
    /// One server's configuration: local domains into `maildir`, relayed domains to a host.
    static func config(
        name: String, listen: [String], spool: String?, local: [String] = [],
        maildir: String = "", relays: [(domain: String, to: String)] = [], extra: String = ""
    ) -> String {
        var lines = ["queue retry 1s 2s"]
        if let spool { lines.append("queue directory \"\(spool)\"") }
        lines += listen.map { "listen on \($0) port 25 hostname \(name)" }
        if !local.isEmpty { lines.append("action \"local\" maildir \"\(maildir)\" user root") }
        for (index, relay) in relays.enumerated() {
            lines.append("action \"relay\(index)\" relay host \"smtp://\(relay.to):25\"")
        }
        for domain in local {
            lines.append("match from any for domain \"\(domain)\" action \"local\"")
        }
        for (index, relay) in relays.enumerated() {
            lines.append("match from any for domain \"\(relay.domain)\" action \"relay\(index)\"")
        }
        return (lines + [extra]).joined(separator: "\n") + "\n"
    }

    @Test func threeHopsDeliverWithAReceivedLinePerHopAndEmptyQueues() throws {
        let lab = try RelayChain(count: 3)
        defer { lab.teardown() }
        try lab.create()
        let rotBox = lab.path("rot-Maildir")
        try lab.start(
            2,
            Self.config(
                name: "rot.lab", listen: [lab.rightAddress(2)], spool: lab.path("rot-spool"),
                local: ["rot.lab"], maildir: rotBox), name: "rot")
        try lab.start(
            1,
            Self.config(
                name: "blau.lab", listen: [lab.rightAddress(1)], spool: lab.path("blau-spool"),
                relays: [("rot.lab", lab.rightAddress(2))]), name: "blau")
        try lab.start(
            0,
            Self.config(
                name: "gruen.lab", listen: [lab.rightAddress(0)], spool: lab.path("gruen-spool"),
                relays: [("rot.lab", lab.rightAddress(1))]), name: "gruen")

        let reply = try sendMail(
            host: lab.rightAddress(0), from: "alice@gruen.lab", to: ["bob@rot.lab"],
            subject: "three hops")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        let files = waitForFiles(rotBox, count: 1, timeout: 20)
        try #require(
            files.count == 1, "gruen: \(lab.servers[0]!.log)\nblau: \(lab.servers[1]!.log)")
        let text = readText(files[0])
        let received = text.split(separator: "\n").filter { $0.hasPrefix("Received: ") }
        #expect(received.count == 3, "\(text)")
        // Newest first: rot's own, then blau's, then gruen's (from the client on the host).
        #expect(text.contains("by rot.lab (MailLab)") || text.contains("by rot.lab"))
        #expect(text.contains("by blau.lab") && text.contains("by gruen.lab"), "\(text)")
        #expect(text.contains("Subject: three hops\n"))
        #expect(text.hasSuffix("\nhello\n"))
        #expect(waitForEmptySpool(lab.path("gruen-spool"), timeout: 10))
        #expect(waitForEmptySpool(lab.path("blau-spool"), timeout: 10))
    }

    @Test func aNextHopThatIsDownIsRetriedUntilItTakesTheMessage() throws {
        let lab = try RelayChain(count: 2)
        defer { lab.teardown() }
        try lab.create()
        let rotBox = lab.path("rot-Maildir")
        let gruen = try lab.start(
            0,
            Self.config(
                name: "gruen.lab", listen: [lab.rightAddress(0)], spool: lab.path("gruen-spool"),
                relays: [("rot.lab", lab.rightAddress(1))]), name: "gruen")
        let reply = try sendMail(
            host: lab.rightAddress(0), from: "alice@gruen.lab", to: ["bob@rot.lab"],
            subject: "waits")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        // Nobody listens in rot yet: refused, deferred, and still in the spool.
        #expect(gruen.waitForLog("deferred: 421 4.4.1", timeout: 10), "\(gruen.log)")
        #expect(maildirFiles(lab.path("gruen-spool")).count == 1)
        Thread.sleep(forTimeInterval: 2)
        try lab.start(
            1,
            Self.config(
                name: "rot.lab", listen: [lab.rightAddress(1)], spool: lab.path("rot-spool"),
                local: ["rot.lab"], maildir: rotBox), name: "rot")
        let files = waitForFiles(rotBox, count: 1, timeout: 20)
        #expect(files.count == 1, "\(gruen.log)")
        #expect(waitForEmptySpool(lab.path("gruen-spool"), timeout: 10))
        let attempts = gruen.log.components(separatedBy: "deferred: ").count - 1
        #expect(attempts >= 2, "retried while down: \(gruen.log)")
    }

    @Test func aRefusedRecipientBouncesIntoTheSendersMaildir() throws {
        let lab = try RelayChain(count: 2)
        defer { lab.teardown() }
        try lab.create()
        let gruenBox = lab.path("gruen-Maildir")
        try lab.start(
            1,
            Self.config(
                name: "rot.lab", listen: [lab.rightAddress(1)], spool: lab.path("rot-spool"),
                local: ["rot.lab"], maildir: lab.path("rot-Maildir")), name: "rot")
        let gruen = try lab.start(
            0,
            Self.config(
                name: "gruen.lab", listen: [lab.rightAddress(0)], spool: lab.path("gruen-spool"),
                local: ["gruen.lab"], maildir: gruenBox,
                relays: [("nowhere.lab", lab.rightAddress(1))]), name: "gruen")
        let reply = try sendMail(
            host: lab.rightAddress(0), from: "alice@gruen.lab", to: ["nobody@nowhere.lab"],
            subject: "to nobody")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        let files = waitForFiles(gruenBox, count: 1, timeout: 20)
        try #require(files.count == 1, "\(gruen.log)\nrot: \(lab.servers[1]!.log)")
        let dsn = readText(files[0])
        // From <>: no Return-Path.
        #expect(dsn.hasPrefix("Delivered-To: alice@gruen.lab\n"), "\(dsn)")
        #expect(dsn.contains("Content-Type: multipart/report; report-type=delivery-status;"))
        #expect(dsn.contains("Content-Type: message/delivery-status\n"))
        #expect(dsn.contains("Final-Recipient: rfc822; nobody@nowhere.lab\n"))
        #expect(dsn.contains("Action: failed\n"))
        #expect(dsn.contains("Status: 5."), "\(dsn)")
        #expect(dsn.contains("Diagnostic-Code: smtp; 550"), "\(dsn)")
        #expect(dsn.contains("Subject: to nobody\n"))  // the original header comes back
        #expect(maildirFiles(lab.path("rot-Maildir")).isEmpty)
        #expect(waitForEmptySpool(lab.path("gruen-spool"), timeout: 10))
    }

    @Test func aRelayLoopBetweenTwoServersEndsInOneBounce() throws {
        let lab = try RelayChain(count: 2)
        defer { lab.teardown() }
        try lab.create()
        let gruenBox = lab.path("gruen-Maildir")
        // blau sends loop.lab back to gruen, gruen sends it to blau; blau knows gruen.lab is
        // gruen's, so a bounce reaches alice from either side.
        try lab.start(
            1,
            Self.config(
                name: "blau.lab", listen: [lab.rightAddress(1)], spool: lab.path("blau-spool"),
                relays: [("loop.lab", lab.leftAddress(1)), ("gruen.lab", lab.leftAddress(1))]),
            name: "blau")
        let gruen = try lab.start(
            0,
            Self.config(
                name: "gruen.lab", listen: [lab.rightAddress(0), lab.leftAddress(1)],
                spool: lab.path("gruen-spool"), local: ["gruen.lab"], maildir: gruenBox,
                relays: [("loop.lab", lab.rightAddress(1))]), name: "gruen")
        let reply = try sendMail(
            host: lab.rightAddress(0), from: "alice@gruen.lab", to: ["x@loop.lab"],
            subject: "round and round")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        let files = waitForFiles(gruenBox, count: 1, timeout: 60)
        try #require(files.count == 1, "\(gruen.log)")
        let dsn = readText(files[0])
        #expect(dsn.contains("Status: 5.4.6"), "\(dsn)")
        #expect(dsn.contains("Final-Recipient: rfc822; x@loop.lab\n"))
        // Both queues drain and nothing else arrives: one bounce, no ring.
        #expect(waitForEmptySpool(lab.path("gruen-spool"), timeout: 20))
        #expect(waitForEmptySpool(lab.path("blau-spool"), timeout: 20))
        Thread.sleep(forTimeInterval: 2)
        #expect(maildirFiles(gruenBox).count == 1)
    }
    @Test func relaysInTwoNamespacesEachGetTheirOwnDefaultSpool() throws {
        let lab = try RelayChain(count: 3)
        let spools = [0, 1].map { "/var/spool/maillab/" + lab.namespace($0) }
        defer {
            lab.teardown()
            for spool in spools { FileSystem.removeTree(spool) }
            rmdir("/var/spool/maillab")  // if this test made it (and it is empty)
        }
        try lab.create()
        let rotBox = lab.path("rot-Maildir")
        try lab.start(
            2,
            Self.config(
                name: "rot.lab", listen: [lab.rightAddress(2)], spool: lab.path("rot-spool"),
                local: ["rot.lab"], maildir: rotBox), name: "rot")
        // No `queue directory` in either: without per-namespace defaults the second would
        // find the first one's spool locked and not start.
        try lab.start(
            1,
            Self.config(
                name: "blau.lab", listen: [lab.rightAddress(1)], spool: nil,
                relays: [("rot.lab", lab.rightAddress(2))]), name: "blau")
        try lab.start(
            0,
            Self.config(
                name: "gruen.lab", listen: [lab.rightAddress(0)], spool: nil,
                relays: [("rot.lab", lab.rightAddress(1))]), name: "gruen")
        let reply = try sendMail(
            host: lab.rightAddress(0), from: "alice@gruen.lab", to: ["bob@rot.lab"],
            subject: "default spools")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        #expect(waitForFiles(rotBox, count: 1, timeout: 20).count == 1)
        for spool in spools { #expect(FileSystem.exists(spool + "/lock"), "\(spool)") }
    }
}

/// The queue's promise under a crash: every message the relay answered 250 reaches the
/// final Maildir, however the relay dies.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .smtpd))
struct RelayCrashTests {
    @Test func aRelayKilledUnderLoadLosesNoAcknowledgedMessage() throws {
        let lab = try RelayChain(count: 2)
        defer { lab.teardown() }
        try lab.create()
        let rotBox = lab.path("rot-Maildir")
        try lab.start(
            1,
            RelayNamespaceTests.config(
                name: "rot.lab", listen: [lab.rightAddress(1)], spool: lab.path("rot-spool"),
                local: ["rot.lab"], maildir: rotBox), name: "rot")
        let gruenConfig = RelayNamespaceTests.config(
            name: "gruen.lab", listen: [lab.rightAddress(0)], spool: lab.path("gruen-spool"),
            relays: [("rot.lab", lab.rightAddress(1))])
        try lab.start(0, gruenConfig, name: "gruen")

        // 20 clients, each sending until the relay goes away; the subject names the message.
        let acknowledged = Mutex<Set<String>>([])
        let host = lab.rightAddress(0)
        let relayPID = lab.servers[0]!.pid
        let killer = Thread {
            // Kill once rot has received some and while the clients are still sending.
            _ = waitForFiles(rotBox, count: 40, timeout: 30)
            kill(relayPID, SIGKILL)
        }
        killer.start()
        onThreads(20) { client in
            for n in 0..<1000 {
                let subject = "crash-\(client)-\(n)"
                guard
                    let reply = try? sendMail(
                        host: host, from: "alice@gruen.lab", to: ["bob@rot.lab"], subject: subject),
                    reply.hasPrefix("250 ")
                else { return }
                _ = acknowledged.withLock { $0.insert(subject) }
            }
        }
        while !killer.isFinished { usleep(10_000) }
        #expect(lab.servers[0]?.wait(timeout: 10) != nil)
        let sent = acknowledged.withLock { $0 }
        let left = maildirFiles(lab.path("gruen-spool")).count
        try #require(sent.count > 40, "only \(sent.count) acknowledged before the kill")

        // Restarted on the same spool, the relay sends what it still holds.
        try lab.start(0, gruenConfig, name: "gruen again")
        #expect(waitForEmptySpool(lab.path("gruen-spool"), timeout: 60), "\(lab.servers[0]!.log)")
        var received: [String: Int] = [:]
        for file in maildirFiles(rotBox) {
            for line in readText(file).split(separator: "\n") where line.hasPrefix("Subject: ") {
                received[String(line.dropFirst("Subject: ".count)), default: 0] += 1
            }
        }
        let lost = sent.subtracting(received.keys)
        let duplicates = received.values.filter { $0 > 1 }.count
        print(
            "relay crash: \(sent.count) acknowledged, \(left) in the spool at the kill, "
                + "\(received.count) distinct received, \(duplicates) duplicated, \(lost.count) lost"
        )
        #expect(lost.isEmpty, "lost: \(lost.sorted().prefix(10))")
    }
}
