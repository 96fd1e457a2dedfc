import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import Testing

/// smtpd tells a supervisor it is ready the way systemd's sd_notify(3) does: `READY=1` on the
/// datagram socket named by `NOTIFY_SOCKET`, only once every listener is bound.
@Suite(.requires(.smtpd))
struct SmtpdReadinessTests {
    @Test(arguments: [false, true])
    func readyIsSentOnlyOnceTheListenerAcceptsConnections(abstract: Bool) throws {
        let directory = try TempDir("ready")
        defer { directory.remove() }
        let name =
            abstract
            ? "@maillab-ready-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            : directory.path + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        let bound = SocketAddress.unix(path: name).withSockaddr { bind(fd, $0, $1) }
        try #require(bound == 0, "bind \(name): errno \(errno)")
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let port = try freePort()
        let config = try directory.write(
            "smtpd.conf",
            "listen on 127.0.0.1 port \(port)\naction \"l\" maildir \"/dev/null\"\n"
                + "match from any for any action \"l\"\n")
        let process = try ChildProcess(
            smtpdPath, ["-d", "-f", config, "-s", directory.path + "/smtpd.sock"],
            environment: ProcessInfo.processInfo.environment.merging(
                ["NOTIFY_SOCKET": name], uniquingKeysWith: { $1 }))
        defer {
            process.signal(SIGTERM)
            if process.wait(timeout: 10) == nil { process.kill() }
        }

        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(fd, &buffer, buffer.count, 0)
        try #require(count > 0, "no readiness message within 15 s")
        let message = String(decoding: buffer[..<count], as: UTF8.self)
        #expect(message == "READY=1\nMAINPID=\(process.pid)\n")
        // No polling: the moment READY arrives, the port takes connections.
        let client = try LineClient(port: port)
        #expect(try client.readReply().first?.hasPrefix("220 ") == true)
    }
}
