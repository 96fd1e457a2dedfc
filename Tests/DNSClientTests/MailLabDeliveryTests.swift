import Foundation
import Glibc
import Lab
import LinuxSystem
import MailLabTestSupport
import NamespaceTestSupport
import Namespaces
import Testing

/// The shipped mail lab end to end, with its own servers: a message submitted in gruen
/// reaches rot's Maildir through blau, whose relay found rot.lab's exchanger by asking the
/// lab's dnsmasq (and nothing else).
@Suite(
    .enabled(if: isRoot, "needs root (namespaces)"), .requires(.dnsmasq, .mlab, .smtpd),
    .serialized)
struct MailLabDeliveryTests {
    @Test func aMessageCrossesTheLabByMXFoundInTheLabsDNS() throws {
        sweepStaleNamespaces(prefix: "dnsm")
        let tag = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
        let prefix = "dnsm-\(getpid())-\(tag)-"
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "dnsm-mail")
        let confDirectory = packageRoot + "/conf"
        // The shipped configs with this test's own Maildirs, spools and control sockets.
        var labText = try String(contentsOfFile: confDirectory + "/lab-mail.conf", encoding: .utf8)
        for name in ["gruen", "blau", "rot"] {
            let text = try String(
                contentsOfFile: confDirectory + "/mail-\(name).conf", encoding: .utf8
            )
            .replacingOccurrences(of: "/tmp/mlab-mail/", with: directory + "/mail/")
            .replacingOccurrences(of: "/var/spool/maillab/lab-", with: directory + "/queue-")
            .replacingOccurrences(of: "/run/mlab-smtpd-", with: directory + "/ctl-")
            let path = directory + "/mail-\(name).conf"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            labText = labText.replacingOccurrences(
                of: "smtpd \(name) mail-\(name).conf", with: "smtpd \(name) \(path)")
        }
        let spec = try LabParser.parse(
            labText, file: confDirectory + "/lab-mail.conf",
            renaming: LabRenaming(namespacePrefix: prefix))
        #expect(spec.servers.count == 4)
        defer {
            _ = try? Lab.down(spec)
            for name in (try? NetworkNamespace.list()) ?? [] where name.hasPrefix(prefix) {
                try? NetworkNamespace.delete(name)
                FileSystem.removeTree(LabResolver.directory(of: name))
            }
            FileSystem.removeTree(directory)
        }
        _ = try Lab.up(spec)

        let sent = try runToEnd(
            ExternalTool.mlab.path,
            [
                "send", "--netns", prefix + "gruen", "--server", "10.0.0.2", "--from",
                "ann@gruen.lab", "--to", "bob@rot.lab", "--subject", "by MX",
            ])
        #expect(sent.status == 0, "\(sent.output)\(sent.errors)")
        let maildir = directory + "/mail/rot/bob/new"
        let deadline = Clock.monotonicSeconds() + 30
        var files: [String] = []
        while files.isEmpty && Clock.monotonicSeconds() < deadline {
            files = (try? FileSystem.directoryEntries(maildir)) ?? []
            if files.isEmpty { Clock.sleep(seconds: 0.1) }
        }
        let instance = LabState.directory + "/" + spec.instanceName
        let logs = (try? FileSystem.directoryEntries(instance)) ?? []
        func log(_ prefix: String) -> String {
            logs.first { $0.hasPrefix(prefix) }.flatMap {
                try? String(contentsOfFile: instance + "/" + $0, encoding: .utf8)
            } ?? ""
        }
        try #require(files.count == 1, "nothing arrived; blau's log:\n\(log("smtpd@blau"))")
        let message = try String(contentsOfFile: maildir + "/" + files[0], encoding: .utf8)
        // Unfolded (RFC 5322 §2.2.3): a Received: field spans lines.
        let unfolded = message.replacingOccurrences(of: "\n\t", with: " ")
            .replacingOccurrences(of: "\n ", with: " ")
        let received = unfolded.split(separator: "\n").filter { $0.hasPrefix("Received: ") }
        #expect(received.count == 3, "\(message)")
        #expect(
            received.first?.contains("from relay.lab (<unknown> [20.0.0.1]) by mx.rot.lab") == true)
        #expect(received.dropFirst().first?.contains("by relay.lab") == true)
        // blau's relay asked the lab's dnsmasq for rot.lab's MX, then for the exchanger.
        let dns = log("dnsmasq@blau")
        #expect(dns.contains("query[MX] rot.lab from 10.0.0.1"), "\(dns)")
        #expect(dns.contains("query[A] mx.rot.lab from 10.0.0.1"), "\(dns)")
    }
}
