import Foundation
import Glibc
import MailLabTestSupport
import Synchronization
import Testing

/// A 250 after DATA means the message is on disk: SIGKILL the real smtpd while 20 clients
/// send, restart it, and every acknowledged message must be whole in new/.
/// What the client threads share.
final class CrashRun: Sendable {
    let acknowledged = Mutex<[String]>([])
    let stop = Atomic<Bool>(false)
}

@Suite struct CrashDurabilityTests {
    static let fillerLines = 40

    /// The body of message `token`: a first and a last line naming it, filler between.
    static func body(_ token: String) -> String {
        var text = "Subject: crash \(token)\r\n\r\nBEGIN \(token)\r\n"
        for index in 0..<fillerLines {
            text += "filler \(index) of \(token) " + String(repeating: "z", count: 60) + "\r\n"
        }
        return text + "END \(token)\r\n"
    }

    /// The token a stored file carries if it is whole, else nil.
    static func wholeToken(_ text: String) -> String? {
        guard let begin = text.firstMatch(of: /\nBEGIN (c\d+-\d+)\n/) else { return nil }
        let token = String(begin.1)
        var expected = "\nBEGIN \(token)\n"
        for index in 0..<fillerLines {
            expected += "filler \(index) of \(token) " + String(repeating: "z", count: 60) + "\n"
        }
        expected += "END \(token)\n"
        return text.hasSuffix(expected) && text.contains("Subject: crash \(token)\n") ? token : nil
    }

    /// How many times each whole message's token is in `maildir`, and the files that hold
    /// no whole message.
    static func storedTokens(_ maildir: String) -> (found: [String: Int], partial: [String]) {
        var found: [String: Int] = [:]
        var partial: [String] = []
        for file in maildirFiles(maildir) {
            if let token = wholeToken(readText(file)) {
                found[token, default: 0] += 1
            } else {
                partial.append(file)
            }
        }
        return (found, partial)
    }

    /// One client: a session, messages in a loop until the server goes away. Returns the
    /// tokens whose final dot got a 250; `afterEach` sees each of them as its 250 arrives.
    static func sendUntilKilled(
        port: UInt16, client: Int, run: CrashRun, name: String = "crash",
        afterEach: (String) -> Void = { _ in }
    ) -> [String] {
        var acknowledged: [String] = []
        guard let connection = try? LineClient(port: port, timeout: 10),
            (try? connection.readReply())?.joined().hasPrefix("220") == true,
            (try? connection.command("HELO \(name)\(client)"))?.hasPrefix("250") == true
        else { return [] }
        var sequence = 0
        while !run.stop.load(ordering: .relaxed) {
            let token = "c\(client)-\(sequence)"
            sequence += 1
            do {
                guard
                    try connection.command("MAIL FROM:<sender\(client)@\(name).example>")
                        .hasPrefix("250"),
                    try connection.command("RCPT TO:<root@localhost>").hasPrefix("250"),
                    try connection.command("DATA").hasPrefix("354")
                else { return acknowledged }
                try connection.send(body(token) + ".\r\n")
                let reply = try connection.readReply().joined()
                guard reply.hasPrefix("250 ") else { return acknowledged }
                afterEach(token)
                acknowledged.append(token)
            } catch {
                return acknowledged
            }
        }
        return acknowledged
    }

    @Test(.requires(.smtpd)) func sigkillLosesNothingAcknowledged() throws {
        let directory = try TempDir("crash")
        defer { directory.remove() }
        let maildir = directory.path + "/Maildir"
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: maildir), directory: directory, extraArguments: [])
        defer { smtpd.stop() }

        let run = CrashRun()
        let port = smtpd.port
        let pid = smtpd.pid
        let killer = Thread {
            usleep(1_000_000)
            kill(pid, SIGKILL)
        }
        killer.start()
        onThreads(20) { client in
            let tokens = Self.sendUntilKilled(port: port, client: client, run: run)
            run.acknowledged.withLock { $0 += tokens }
        }
        run.stop.store(true, ordering: .relaxed)
        #expect(smtpd.wait(timeout: 10) == 128 + SIGKILL, "smtpd died of SIGKILL")
        let acked = run.acknowledged.withLock { $0 }
        #expect(acked.count >= 20, "the clients got \(acked.count) messages through in 1 s")

        #expect(maildirFiles(maildir).count >= acked.count)
        // Restart on the same Maildir: stale tmp/ files go at start.
        let again = try SmtpdProcess(
            config: seedConfig(maildir: maildir), directory: directory, extraArguments: [])
        defer { again.stop() }
        #expect(
            maildirFiles(maildir, "tmp").isEmpty,
            "tmp/ after restart: \(maildirFiles(maildir, "tmp"))")

        let (found, partial) = Self.storedTokens(maildir)
        #expect(partial.isEmpty, "partial files in new/: \(partial)")
        for token in acked {
            #expect(found[token] == 1, "acknowledged \(token) found \(found[token] ?? 0) times")
        }
        #expect(found.values.allSatisfy { $0 == 1 }, "a token stored twice")
        // The server accepted new mail after the restart.
        #expect(
            try GoldenDialogueTests.runDialogue(port: again.port, recipient: "root@localhost")
                .contains { $0.hasSuffix("Message accepted for delivery\r\n") })
    }

    @Test func wholeTokenRejectsTruncatedFiles() {
        let whole =
            "Return-Path: <a@b>\n" + Self.body("c1-2").replacingOccurrences(of: "\r\n", with: "\n")
        #expect(Self.wholeToken(whole) == "c1-2")
        #expect(Self.wholeToken(String(whole.dropLast(5)) + "\n") == nil)
        #expect(Self.wholeToken(whole.replacingOccurrences(of: "filler 7 ", with: "")) == nil)
    }
}
