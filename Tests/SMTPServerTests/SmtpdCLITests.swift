import Foundation
import Glibc
import Testing

/// The smtpd command line: `-n`, usage errors, `-D`, and a graceful SIGTERM.
@Suite struct SmtpdCLITests {
    @Test func checkOnlyAcceptsTheLocalConfig() throws {
        let result = try runProgram(
            smtpdPath, ["-n", "-f", packageRoot + "/conf/smtpd-local.conf"])
        #expect(result.status == 0)
        #expect(result.errorOutput == "configuration OK\n")
    }

    @Test(arguments: [["-x"], ["-f"], ["-d", "extra"], ["-D", "novalue"]])
    func badArgumentsPrintUsageAndExit1(arguments: [String]) throws {
        let result = try runProgram(smtpdPath, arguments)
        #expect(result.status == 1)
        #expect(
            result.errorOutput.hasSuffix(
                "usage: smtpd [-dFhnv] [-D macro=value] [-f file] [-N netns] [-T trace]\n"),
            "stderr: \(result.errorOutput)")
    }

    @Test func aMissingInterfaceIsAFileLineError() throws {
        let directory = try TempDir("cli")
        defer { directory.remove() }
        let config = try directory.write(
            "missing.conf",
            "# comment\nlisten on mltnosuch0 port 25\naccept from any for local deliver to maildir \"/tmp/x\"\n"
        )
        let result = try runProgram(smtpdPath, ["-n", "-f", config])
        #expect(result.status == 1)
        #expect(
            result.errorOutput.hasPrefix("\(config):2: listen on mltnosuch0: "),
            "\(result.errorOutput)")
        #expect(!result.errorOutput.contains("configuration OK"))
    }

    @Test func macroOverrideWinsOverTheFile() throws {
        let directory = try TempDir("cli")
        defer { directory.remove() }
        let config = """
            name = "from-file.example"
            listen on 127.0.0.1 port @PORT@ hostname $name
            accept from any for local deliver to maildir "\(directory.path)/Maildir"
            """
        let plain = try SmtpdProcess(config: config, directory: directory, extraArguments: [])
        defer { plain.stop() }
        let overridden = try SmtpdProcess(
            config: config, directory: directory, extraArguments: ["-D", "name=from-flag.example"])
        defer { overridden.stop() }
        #expect(
            try LineClient(port: plain.port).readLine() == "220 from-file.example ESMTP MailLab\r\n"
        )
        #expect(
            try LineClient(port: overridden.port).readLine()
                == "220 from-flag.example ESMTP MailLab\r\n")
    }

    @Test func sigtermFinishesTheDeliveryInFlightThenExits0() throws {
        let directory = try TempDir("term")
        defer { directory.remove() }
        let maildir = directory.path + "/Maildir"
        let smtpd = try SmtpdProcess(config: seedConfig(maildir: maildir), directory: directory)
        defer { smtpd.stop() }

        let idle = try LineClient(port: smtpd.port)
        _ = try idle.readReply()
        #expect(try idle.command("HELO idle").hasPrefix("250 "))

        let sender = try LineClient(port: smtpd.port)
        _ = try sender.readReply()
        for command in [
            "HELO defaultNS", "MAIL FROM:<a@b.example>", "RCPT TO:<root@localhost>", "DATA",
        ] {
            #expect(try !sender.command(command).hasPrefix("5"))
        }
        try sender.send("Subject: term\r\n\r\nsent before SIGTERM\r\n.\r\n")
        // The server has read the final dot and started the delivery: now stop it.
        #expect(smtpd.waitForLog("<<< [EOM]"))
        smtpd.signal(SIGTERM)

        let answer = try sender.readLine() ?? "(closed)"
        #expect(lineMatches(answer, "250 2.0.0 <id> Message accepted for delivery"), "\(answer)")
        let files = maildirFiles(maildir)
        #expect(files.count == 1)
        #expect(files.first.map { readText($0).contains("\nsent before SIGTERM\n") } == true)

        // Sessions left open are told and closed.
        let name = String(
            readText(files.first ?? "").firstMatch(of: /\tby (\S+) \(MailLab\)/)?.1 ?? "vm")
        for client in [idle, sender] {
            let line = try client.readLine()
            #expect(line == "421 4.3.0 \(name) Server shutting down\r\n", "\(line ?? "(closed)")")
            #expect(client.closesWithin(3))
        }
        #expect(smtpd.wait(timeout: 10) == 0)
        let lines = smtpd.log.split(separator: "\n")
        #expect(lines.last == "Exiting", "log ends: \(lines.suffix(3))")
        #expect(lines.contains("info: received signal 15, stopping"))
    }
}
