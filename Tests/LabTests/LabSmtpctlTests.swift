import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import NamespaceTestSupport
import Testing

/// Each smtpd of a lab has its own control socket under the lab's state directory: two in
/// one lab run side by side, `mlab lab status` names both sockets and what their queues
/// hold, smtpctl reaches each one, and `down` leaves no socket behind.
@Suite(
    .enabled(if: isRoot && access(mlabPath, X_OK) == 0, "needs root and a built mlab"),
    .requires(.ip, .smtpctl))
struct LabSmtpctlTests {
    @Test func twoSmtpdsInOneLabEachAnswerOnTheirOwnSocket() throws {
        try withLabScratch { scratch in
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "mlt-labctl")
            defer { FileSystem.removeTree(directory) }
            for (name, port) in [("one", 25), ("two", 2626)] {
                try """
                listen on bbb port \(port)
                accept from any for local deliver to maildir "\(directory)/\(name)"

                """.write(toFile: "\(directory)/\(name).conf", atomically: true, encoding: .utf8)
            }
            let seed = try String(contentsOfFile: confDirectory + "/lab-seed.conf", encoding: .utf8)
            let lab = seed.replacingOccurrences(
                of: "smtpd gruen smtpd.conf", with: "smtpd gruen one.conf\nsmtpd gruen two.conf")
            let file = "\(directory)/lab-seed.conf"
            try lab.write(toFile: file, atomically: true, encoding: .utf8)
            let arguments = [
                "--netns-prefix", scratch.prefix, "--host", scratch.name("host"), file,
            ]

            let (upStatus, _, upErrors) = try mlab(["lab", "up", "--quiet"] + arguments)
            try #require(upStatus == 0, "\(upErrors)")
            defer { _ = try? mlab(["lab", "down", "--quiet"] + arguments) }

            let (statusCode, status, _) = try mlab(["lab", "status"] + arguments)
            #expect(statusCode == 0, "\(status)")
            let sockets = status.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "smtpctl -s "),
                    let end = line.range(of: ": no relay queue")
                else { return nil }
                return String(line[range.upperBound..<end.lowerBound])
            }
            #expect(sockets.count == 2, "\(status)")
            #expect(Set(sockets).count == 2)
            let logs = scratch.servers().map(\.log)
            #expect(logs.count == 2)
            for socket in sockets {
                #expect(socket.hasSuffix(".sock") && socket.utf8.count < 108)
                let stats = try runToEnd(
                    ExternalTool.smtpctl.path, ["-s", socket, "show", "stats"])
                #expect(stats.status == 0, "\(stats.output)\(stats.errors)")
                #expect(stats.output.contains("control.session=1"))
            }
            // Each socket is its own server's: each log shows exactly one smtpctl request.
            for log in logs {
                let text = try String(contentsOfFile: log, encoding: .utf8)
                #expect(
                    text.split(separator: "\n").filter {
                        $0.contains("command=\"show queue\"")
                    }.count == 1, "\(text)")
                #expect(
                    text.split(separator: "\n").filter {
                        $0.contains("command=\"show stats\"")
                    }.count == 1, "\(text)")
            }

            // mlab lab smtpctl finds the socket itself; two smtpds in gruen need --line.
            let lines = lab.split(separator: "\n", omittingEmptySubsequences: false)
            let secondLine = try #require(lines.firstIndex { $0 == "smtpd gruen two.conf" }) + 1
            let (viaLabStatus, viaLab, viaLabErrors) = try mlab(
                ["lab", "smtpctl"] + arguments + [
                    "gruen", "--line", "\(secondLine)", "show", "stats",
                ])
            #expect(viaLabStatus == 0, "\(viaLabErrors)")
            #expect(viaLab.contains("control.session=1"))
            let secondLog = try String(contentsOfFile: logs[1], encoding: .utf8)
            #expect(secondLog.components(separatedBy: "command=\"show stats\"").count == 3)
            let (ambiguous, _, ambiguousErrors) = try mlab(
                ["lab", "smtpctl"] + arguments + ["gruen", "show", "stats"])
            #expect(ambiguous != 0)
            #expect(ambiguousErrors.contains("2 smtpds in gruen: name one with --line"))
            let (missing, _, missingErrors) = try mlab(
                ["lab", "smtpctl"] + arguments + ["host", "show", "stats"])
            #expect(missing != 0 && missingErrors.contains("no smtpd in host"), "\(missingErrors)")

            let (downStatus, _, _) = try mlab(["lab", "down", "--quiet"] + arguments)
            #expect(downStatus == 0)
            for socket in sockets { #expect(access(socket, F_OK) != 0) }
            #expect(scratch.leftovers().isEmpty)
        }
    }
}
