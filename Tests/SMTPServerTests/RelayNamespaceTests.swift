import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// The relay across namespaces, with the real smtpd in each: gruen (the sender's server)
/// → blau (a relay) → rot (the recipient's server), each a namespace of its own joined by
/// veths; queues in their own spool directories (`queue directory`).
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .smtpd))
struct RelayNamespaceTests {
    /// One server's configuration: local domains into `maildir`, relayed domains to a host.
    static func config(
        name: String, listen: [String], spool: String, local: [String] = [],
        maildir: String = "", relays: [(domain: String, to: String)] = [], extra: String = ""
    ) -> String {
        var lines = ["queue directory \"\(spool)\"", "queue retry 1s 2s"]
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
        let files = waitForMaildir(rotBox, count: 1, timeout: 20)
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
        let files = waitForMaildir(rotBox, count: 1, timeout: 20)
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
        let files = waitForMaildir(gruenBox, count: 1, timeout: 20)
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
        let files = waitForMaildir(gruenBox, count: 1, timeout: 60)
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
}
