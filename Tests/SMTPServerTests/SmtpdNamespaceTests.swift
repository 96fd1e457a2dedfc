import Foundation
import Glibc
import MailLabTestSupport
import Namespaces
import Netlink
import Testing

/// The course's setup: smtpd inside a network namespace (`-N`), listening on the inside end
/// of a veth (`listen on bbb port 25`), reached from the host.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .smtpd))
struct SmtpdNamespaceTests {
    /// A namespace + veth pair, registered for teardown before anything is created.
    final class Lab {
        let tag = String(
            (0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        let namespace: String
        let hostEnd: String
        let insideEnd: String
        // A random /30 of 10.213.0.0/16, so parallel runs do not share a subnet.
        let subnet = (third: Int.random(in: 0...255), fourth: Int.random(in: 0...63) * 4)
        var insideAddress: String { "10.213.\(subnet.third).\(subnet.fourth + 1)" }
        var hostAddress: String { "10.213.\(subnet.third).\(subnet.fourth + 2)" }
        var smtpd: SmtpdProcess?

        init() {
            // `mlt-PID-…`: NetlinkTests' sweep removes such leftovers once this process is gone.
            namespace = "mlt-\(getpid())-\(tag)-smtpd"
            hostEnd = "ts\(tag)h"
            insideEnd = "ts\(tag)n"
        }

        func create() throws {
            try NetworkNamespace.add(namespace)
            let host = try NetlinkHandle()
            try host.addVeth(hostEnd, peer: insideEnd, peerNamespace: namespace)
            let inside = try NetlinkHandle(namespace: namespace)
            try inside.addAddress(IPPrefix("\(insideAddress)/30")!, to: insideEnd)
            try inside.setUp("lo")
            try inside.setUp(insideEnd)
            try host.addAddress(IPPrefix("\(hostAddress)/30")!, to: hostEnd)
            try host.setUp(hostEnd)
        }

        /// Idempotent: the server first (its sockets keep the namespace alive), then the
        /// veth (both ends), then the namespace.
        func teardown() {
            smtpd?.stop()
            if let host = try? NetlinkHandle(), (try? host.linkIfPresent(named: hostEnd)) != nil {
                try? host.deleteLink(hostEnd)
            }
            if NetworkNamespace.exists(namespace) { try? NetworkNamespace.delete(namespace) }
        }
    }

    @Test func seedDialogueThroughAVethIntoTheNamespace() throws {
        let lab = Lab()
        defer { lab.teardown() }
        let directory = try TempDir("netns")
        defer { directory.remove() }
        try lab.create()
        let maildir = directory.path + "/Maildir"
        let config = seedConfig(maildir: maildir, listen: lab.insideEnd, port: "25")

        // -n checks the listen target in the namespace given by -N; the host has no such link.
        let configPath = try directory.write("check.conf", config)
        let inside = try runProgram(smtpdPath, ["-n", "-N", lab.namespace, "-f", configPath])
        #expect(
            inside.status == 0 && inside.errorOutput == "configuration OK\n",
            "\(inside.errorOutput)")
        let outside = try runProgram(smtpdPath, ["-n", "-f", configPath])
        #expect(outside.status == 1)
        #expect(
            outside.errorOutput.hasPrefix("\(configPath):1: listen on \(lab.insideEnd): "),
            "\(outside.errorOutput)")

        lab.smtpd = try SmtpdProcess(
            config: config, directory: directory, port: 25,
            extraArguments: ["-N", lab.namespace, "-T", "smtp"], readyHost: lab.insideAddress)
        let replies = try GoldenDialogueTests.runDialogue(
            port: 25, recipient: "root@localhost", host: lab.insideAddress)
        #expect(
            GoldenDialogueTests.normalized(replies, peer: lab.hostAddress)
                == GoldenDialogueTests.goldenReplies)
        #expect(
            replies.contains {
                $0.hasSuffix(" Hello defaultNS [\(lab.hostAddress)], pleased to meet you\r\n")
            })

        let files = waitForFiles(maildir, count: 1)
        try #require(files.count == 1)
        let stored = readText(files[0])
        #expect(
            stored.hasPrefix(
                "Return-Path: <abgelaescht@ausgebuefft>\nDelivered-To: root@localhost\n"))
        #expect(stored.contains("\nReceived: from defaultNS (<unknown> [\(lab.hostAddress)])\n"))
        // Not a loopback listener: no Date/Message-ID added (reference §7.3).
        #expect(!stored.contains("\nDate: ") && !stored.contains("\nMessage-ID: "))
        #expect(stored.hasSuffix("\nSubject: test\n\nfirst body line\nsecond body line\n"))
        // The server is only inside: the host's loopback has nothing on port 25 from it.
        #expect(lab.smtpd?.log.contains("info: listening on \(lab.insideAddress):25") == true)

        lab.teardown()
        #expect(!NetworkNamespace.exists(lab.namespace))
        let listed = try runProgram(ExternalTool.ip.path, ["netns", "list"])
        #expect(!listed.output.contains(lab.namespace))
        #expect(try NetlinkHandle().linkIfPresent(named: lab.hostEnd) == nil)
    }

    @Test func aMissingNamespaceIsAnError() throws {
        let result = try runProgram(
            smtpdPath,
            ["-n", "-N", "mlt-\(getpid())-nosuchns", "-f", packageRoot + "/conf/smtpd-local.conf"])
        #expect(result.status == 1)
        #expect(
            result.errorOutput.hasPrefix("smtpd: -N mlt-\(getpid())-nosuchns: "),
            "\(result.errorOutput)")
    }
}
