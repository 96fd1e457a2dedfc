import Foundation
import Glibc
import MailLabTestSupport
import NamespaceTestSupport
import Testing

/// `mlab lab shell`: a tmux session (on a tmux server of the test's own) with one window per
/// namespace of the lab, each inside its namespace with its name in the prompt.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.mlab, .tmux))
struct LabShellTests {
    @Test func eachWindowIsInsideItsNamespaceAndKillingTheSessionLeavesTheLabUp() throws {
        try withLabScratch { scratch in
            let lab = [
                "--netns-prefix", scratch.prefix, "--host", scratch.name("host"),
                confDirectory + "/lab-daisy.conf",
            ]
            let socket = "mlab-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            func tmux(_ arguments: [String]) throws -> ProgramOutput {
                try runToEnd(ExternalTool.tmux.path, ["-L", socket] + arguments)
            }
            defer {
                _ = try? tmux(["kill-server"])
                // tmux leaves its socket file behind (-L names one in its socket folder).
                let folder = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
                unlink("\(folder)/tmux-\(getuid())/\(socket)")
            }
            #expect(try mlab(["lab", "up", "--quiet"] + lab).0 == 0)
            let (status, _, errors) = try mlab(
                ["lab", "shell", "--detached", "--tmux-socket", socket, "--session", "t"] + lab)
            try #require(status == 0, "\(errors)")
            let windows = try tmux(["list-windows", "-t", "t", "-F", "#{window_name}"]).output
            #expect(windows.split(separator: "\n") == ["host", "gruen", "blau", "rot"])
            for name in ["gruen", "blau", "rot"] {
                _ = try tmux([
                    "send-keys", "-t", "t:\(name)", "readlink /proc/self/ns/net", "Enter",
                ])
            }
            for name in ["gruen", "blau", "rot"] {
                var info = stat()
                try #require(stat("/run/netns/" + scratch.name(name), &info) == 0)
                let expected = "net:[\(info.st_ino)]"
                var screen = ""
                for _ in 0..<100 where !screen.contains(expected) {
                    usleep(50_000)
                    screen = try tmux(["capture-pane", "-p", "-t", "t:\(name)"]).output
                }
                #expect(screen.contains("[\(name)] "), "no prompt naming \(name):\n\(screen)")
                #expect(
                    screen.contains(expected), "window \(name) is not in its namespace:\n\(screen)")
            }
            _ = try tmux(["kill-session", "-t", "t"])
            let (checked, report, _) = try mlab(["lab", "status"] + lab)
            #expect(checked == 0, "\(report)")
            #expect(try mlab(["lab", "down", "--quiet"] + lab).0 == 0)
        }
    }

    @Test func aLabThatIsNotUpIsRefusedWithTheCommandToBringItUp() throws {
        let (status, _, errors) = try mlab([
            "lab", "shell", "--detached", "--netns-prefix", "mlt-\(getpid())-nothere-",
            confDirectory + "/lab-daisy.conf",
        ])
        #expect(status != 0)
        #expect(errors.contains("lab daisy is not up"), "\(errors)")
        #expect(errors.contains("mlab lab up"))
    }
}
