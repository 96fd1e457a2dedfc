import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// Postfix and the real smtpd in namespaces of their own, joined by veths (`RelayChain`):
/// Postfix in one namespace relaying to our smtpd in the next, and our relay handing mail to
/// Postfix in the next, each on port 25 of its lab address.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .smtpd, .postfix))
struct PostfixNamespaceTests {
    @Test("Postfix in one namespace relays to our smtpd in the next: in our Maildir")
    func postfixRelaysAcrossNamespaces() throws {
        let lab = try RelayChain(count: 2)
        var postfix: PostfixInstance?
        defer {
            // Our servers first: a Postfix smtpd serving a session stays until it ends.
            for server in lab.servers { server?.stop() }
            postfix?.stop()
            lab.teardown()
        }
        try lab.create()
        let box = lab.path("rot-Maildir")
        let rot = try lab.start(
            1,
            RelayNamespaceTests.config(
                name: "rot.lab", listen: [lab.rightAddress(1)], spool: lab.path("rot-spool"),
                local: ["rot.lab"], maildir: box), name: "rot")
        let instance = try PostfixInstance(
            in: lab.directory, name: "pf-gruen", hostname: "gruen.lab",
            namespace: lab.namespace(0),
            settings: [
                "relayhost = [\(lab.rightAddress(1))]:25", "default_transport = smtp",
                "relay_transport = relay",
            ])
        postfix = instance
        try instance.start()
        try instance.sendmail(
            from: "alice@gruen.lab", to: ["bob@rot.lab"],
            message: "Subject: across namespaces\n\nfrom postfix in gruen\n")
        let files = waitForFiles(box, count: 1, timeout: 30)
        try #require(files.count == 1, "\(instance.log)\nrot: \(rot.log)")
        let text = readText(files[0])
        // Our Received line names the client by its lab address: Postfix really was in
        // the other namespace.
        #expect(
            text.contains("from gruen.lab (") && text.contains("[\(lab.leftAddress(1))]"),
            "\(text)")
        #expect(text.contains("by rot.lab (MailLab) with ESMTP id "), "\(text)")
        #expect(text.hasSuffix("\nfrom postfix in gruen\n"))
        // Postfix logs the hand-over after our 250, which comes after our Maildir's flush.
        #expect(
            instance.waitForLog(
                "relay=\(lab.rightAddress(1))[\(lab.rightAddress(1))]:25", timeout: 10),
            "\(instance.log)")
    }

    @Test("our relay in one namespace hands mail to Postfix in the next: in Postfix's Maildir")
    func ourRelayDeliversToPostfixAcrossNamespaces() throws {
        let lab = try RelayChain(count: 2)
        var postfix: PostfixInstance?
        defer {
            // Our servers first: a Postfix smtpd serving a session stays until it ends.
            for server in lab.servers { server?.stop() }
            postfix?.stop()
            lab.teardown()
        }
        try lab.create()
        let instance = try PostfixInstance(
            in: lab.directory, name: "pf-rot", hostname: "pf.lab",
            listen: (lab.rightAddress(1), 25), namespace: lab.namespace(1),
            settings: ["mynetworks = \(lab.leftAddress(1))/32"])
        postfix = instance
        let mailboxes = try instance.writeMap("vmailbox", ["bob@pf.lab bob/"])
        try instance.appendSettings([
            "virtual_mailbox_domains = pf.lab", "virtual_mailbox_maps = \(mailboxes)",
        ])
        try instance.start()
        let blau = try lab.start(
            0,
            RelayNamespaceTests.config(
                name: "blau.lab", listen: [lab.rightAddress(0)], spool: lab.path("blau-spool"),
                relays: [("pf.lab", lab.rightAddress(1))]), name: "blau")
        let reply = try sendMail(
            host: lab.rightAddress(0), from: "alice@gruen.lab", to: ["bob@pf.lab"],
            subject: "to postfix in rot")
        #expect(reply.hasPrefix("250 2.0.0 "), "\(reply)")
        let files = waitForFiles(instance.mailboxBase + "/bob", count: 1, timeout: 30)
        try #require(files.count == 1, "\(blau.log)\npostfix: \(instance.log)")
        let text = readText(files[0])
        #expect(text.contains("from blau.lab (unknown [\(lab.leftAddress(1))])"), "\(text)")
        #expect(text.contains("by pf.lab (Postfix) with ESMTP id "), "\(text)")
        #expect(text.contains("by blau.lab"), "\(text)")
        #expect(text.contains("Subject: to postfix in rot\n"))
        #expect(waitForEmptySpool(lab.path("blau-spool"), timeout: 10), "\(blau.log)")
    }
}
