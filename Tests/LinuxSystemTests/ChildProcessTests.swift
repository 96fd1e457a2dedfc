import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// The launcher the tests start their programs with (MailLabTestSupport's `ChildProcess`).
@Suite struct ChildProcessTests {
    /// `SigBlk`, `SigIgn` (and the rest) of the child's own /proc/self/status.
    private func signalState(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    @Test func spawnedProgramStartsWithNoSignalBlockedOrIgnored() throws {
        // Blocked and ignored here, on the thread that spawns, as the test runner's are.
        var blocked = sigset_t()
        var previous = sigset_t()
        sigfillset(&blocked)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let result = try runToEnd("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"])
        #expect(result.status == 0)
        let state = signalState(result.output)
        #expect(state["SigBlk"] == "0000000000000000", "\(result.output)")
        #expect(state["SigIgn"] == "0000000000000000", "\(result.output)")
    }

    @Test func inputLargerThanAPipeIsEchoedWithoutStalling() throws {
        let input = String(repeating: "0123456789abcdef\n", count: 64 * 1024)
        let result = try runToEnd(
            "/bin/sh", ["-c", "cat; echo done >&2"], input: input, timeout: 60)
        #expect(result.status == 0)
        #expect(result.output == input)
        #expect(result.errors == "done\n")
    }

    @Test func exitStatusAndEndingSignalAreReported() throws {
        #expect(try runToEnd("/bin/sh", ["-c", "exit 3"]).status == 3)
        #expect(try runToEnd("/bin/sh", ["-c", "kill -TERM $$"]).status == 128 + SIGTERM)
    }

    @Test func programOverItsTimeIsKilled() throws {
        let start = Date()
        #expect(throws: ProgramTimeout.self) {
            _ = try runToEnd("/bin/sleep", ["30"], timeout: 0.3)
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func droppedChildIsKilledAndReaped() throws {
        var pid: pid_t = 0
        do {
            let child = try ChildProcess("/bin/sleep", ["30"])
            pid = child.pid
            #expect(child.isRunning)
        }
        // Reaped: the pid names no process (not even a zombie) of ours any more.
        #expect(waitpid(pid, nil, WNOHANG) == -1)
    }
}
