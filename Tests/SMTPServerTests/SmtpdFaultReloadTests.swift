import Foundation
import Testing

/// `smtpd` re-reads its `fault …` statements on SIGHUP.
@Suite(.requires(.smtpd))
struct SmtpdFaultReloadTests {
    /// The reply to `RCPT TO:<root@localhost>` in a new session.
    private func rcptReply(port: UInt16) throws -> String {
        let client = try LineClient(port: port)
        _ = try client.readReply()
        _ = try client.command("HELO x")
        _ = try client.command("MAIL FROM:<a@example.org>")
        return try client.command("RCPT TO:<root@localhost>")
    }

    @Test("SIGHUP replaces the fault rules for the next session; a broken file changes nothing")
    func sighupReloadsFaultRules() throws {
        let directory = try TempDir("faultreload")
        defer { directory.remove() }
        let base = seedConfig(maildir: directory.path + "/Maildir") + "\nfault seed 5\n"
        let smtpd = try SmtpdProcess(
            config: base + "fault at rcpt reply \"451 4.7.1 Before\"\n", directory: directory,
            extraArguments: [])
        defer { smtpd.stop() }
        let path = directory.path + "/smtpd-\(smtpd.port).conf"
        let lines = { (rule: String) in
            seedConfig(maildir: directory.path + "/Maildir", port: String(smtpd.port))
                + "\nfault seed 5\n" + rule + "\n"
        }
        #expect(try rcptReply(port: smtpd.port) == "451 4.7.1 Before")

        // The sessions' side says when the new rules are in place: with the process split
        // the parent reads the file and the network side applies what it is sent.
        let applied = "info: fault injection: 1 rule(s), seed=5"
        let appliedBefore = smtpd.log.components(separatedBy: applied).count
        try lines("fault at rcpt reply \"452 4.3.1 After\"").write(
            toFile: path, atomically: true, encoding: .utf8)
        smtpd.signal(SIGHUP)
        #expect(smtpd.waitForLog("info: SIGHUP: fault rules reloaded"))
        let deadline = Date().addingTimeInterval(5)
        while smtpd.log.components(separatedBy: applied).count == appliedBefore
            && Date() < deadline
        {
            usleep(10_000)
        }
        #expect(try rcptReply(port: smtpd.port) == "452 4.3.1 After")

        try lines("fault at rcpt explode").write(toFile: path, atomically: true, encoding: .utf8)
        smtpd.signal(SIGHUP)
        #expect(smtpd.waitForLog("fault rules unchanged"))
        #expect(smtpd.log.contains("smtpd-\(smtpd.port).conf:4: "))
        #expect(try rcptReply(port: smtpd.port) == "452 4.3.1 After")

        try lines("").write(toFile: path, atomically: true, encoding: .utf8)
        smtpd.signal(SIGHUP)
        #expect(smtpd.waitForLog("info: fault injection: off"))
        #expect(
            try rcptReply(port: smtpd.port) == "250 2.1.5 Destination address valid: Recipient ok")
        #expect(smtpd.isRunning)
    }
}
