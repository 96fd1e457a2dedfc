import Foundation
import LinuxSystem
import MailLabTestSupport
import Testing

@testable import SMTPServer

/// Real clients, each with its own timeouts, observe the faults the issue names: a 451 at
/// RCPT, a disconnect after the final dot, and a 5 s delay before the banner (too long for a
/// 2 s timeout, waited out by a 15 s one). python smtplib's are in FaultClientTests
/// (451, disconnect) and FaultStageClientTests (the banner delay).
@Suite struct FaultObserverTests {
    private static let greylist = "fault at rcpt reply \"451 4.7.1 Greylisted\""
    private static let dropAfterData = "fault at after-data disconnect"
    private static let slowBanner = "fault at banner delay 5s"

    private static func config(_ rule: String) -> String {
        localDeliveryConfig + "\nfault seed 1\n" + rule + "\n"
    }

    /// Runs `body` and returns its result with the seconds it took.
    private static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let started = Clock.monotonicSeconds()
        let result = try body()
        return (result, Clock.monotonicSeconds() - started)
    }

    // MARK: curl

    private static func curl(port: UInt16, maxTime: Int, in directory: TempDir) throws -> (
        status: Int32, output: String, errors: String
    ) {
        let mail = try directory.write("mail.txt", "Subject: curl\r\n\r\nbody\r\n")
        return try runTool(
            ExternalTool.curl.path,
            [
                "-sS", "-v", "--url", "smtp://127.0.0.1:\(port)", "--mail-from", "a@example.org",
                "--mail-rcpt", "root@localhost", "-T", mail, "--max-time", String(maxTime),
            ])
    }

    @Test(.requires(.curl), .testServer(config: Self.config(Self.greylist)))
    func curlSeesTheGreylisting451AtRcpt() async throws {
        let server = try TraitServer.current()
        let directory = try TempDir("curl-faults")
        defer { directory.remove() }
        let result = try Self.curl(port: server.port, maxTime: 10, in: directory)
        #expect(result.status == 55, "\(result.errors)")  // CURLE_SEND_ERROR
        #expect(result.errors.contains("< 451 4.7.1 Greylisted"))
        #expect(result.errors.contains("RCPT failed: 451"))
        #expect(maildirFiles(server.maildir).isEmpty)
    }

    @Test(.requires(.curl), .testServer(config: Self.config(Self.dropAfterData)))
    func curlSeesTheDisconnectAfterData() async throws {
        let server = try TraitServer.current()
        let directory = try TempDir("curl-faults")
        defer { directory.remove() }
        let result = try Self.curl(port: server.port, maxTime: 10, in: directory)
        #expect(result.status == 56, "\(result.errors)")  // CURLE_RECV_ERROR
        #expect(result.errors.contains("response reading failed"))
        #expect(waitForFiles(server.maildir, count: 1, timeout: 1).isEmpty)
    }

    @Test(.requires(.curl), .testServer(config: Self.config(Self.slowBanner)))
    func curlTimesOutOnTheSlowBannerOrWaitsItOut() async throws {
        let server = try TraitServer.current()
        let directory = try TempDir("curl-faults")
        defer { directory.remove() }
        let (short, shortTime) = try Self.timed {
            try Self.curl(port: server.port, maxTime: 2, in: directory)
        }
        #expect(short.status == 28, "\(short.errors)")  // CURLE_OPERATION_TIMEDOUT
        #expect(shortTime >= 1.9 && shortTime < 4.5, "\(shortTime) s")
        let (long, longTime) = try Self.timed {
            try Self.curl(port: server.port, maxTime: 15, in: directory)
        }
        #expect(long.status == 0, "\(long.errors)")
        #expect(longTime >= 4.9 && longTime < 12, "\(longTime) s")
        #expect(waitForFiles(server.maildir, count: 1).count == 1)
    }

    // MARK: swaks

    /// swaks times out with alarm(2): run it with no signal blocked (the test runner's
    /// threads block SIGALRM, and a child inherits the mask), through a perl `exec`.
    private static func swaks(port: UInt16, timeout: Int) throws -> (
        status: Int32, output: String, errors: String
    ) {
        try runTool(
            "/usr/bin/perl",
            [
                "-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV",
                "--", ExternalTool.swaks.path, "--server", "127.0.0.1:\(port)", "--from",
                "a@example.org", "--to",
                "root@localhost", "--timeout", String(timeout),
            ])
    }

    @Test(.requires(.swaks), .testServer(config: Self.config(Self.greylist)))
    func swaksSeesTheGreylisting451AtRcpt() async throws {
        let server = try TraitServer.current()
        let result = try Self.swaks(port: server.port, timeout: 10)
        #expect(result.status == 24, "\(result.output)")  // no recipient accepted
        #expect(result.output.contains("<** 451 4.7.1 Greylisted"))
        #expect(maildirFiles(server.maildir).isEmpty)
    }

    @Test(.requires(.swaks), .testServer(config: Self.config(Self.dropAfterData)))
    func swaksSeesTheDisconnectAfterData() async throws {
        let server = try TraitServer.current()
        let result = try Self.swaks(port: server.port, timeout: 10)
        #expect(result.status != 0, "\(result.output)")
        #expect(
            (result.output + result.errors).contains(
                "*** Remote host closed connection unexpectedly"), "\(result.output)")
        #expect(waitForFiles(server.maildir, count: 1, timeout: 1).isEmpty)
    }

    @Test(.requires(.swaks), .testServer(config: Self.config(Self.slowBanner)))
    func swaksTimesOutOnTheSlowBannerOrWaitsItOut() async throws {
        let server = try TraitServer.current()
        let (short, shortTime) = try Self.timed {
            try Self.swaks(port: server.port, timeout: 2)
        }
        #expect(short.status == 21, "\(short.output)")  // banner not read
        #expect(short.output.contains("<** Timeout (2 secs) waiting for server response"))
        #expect(shortTime >= 1.9, "\(shortTime) s")
        let (long, longTime) = try Self.timed { try Self.swaks(port: server.port, timeout: 15) }
        #expect(long.status == 0, "\(long.output)")
        #expect(longTime >= 4.9 && longTime < 12, "\(longTime) s")
        #expect(waitForFiles(server.maildir, count: 1).count == 1)
    }
}
