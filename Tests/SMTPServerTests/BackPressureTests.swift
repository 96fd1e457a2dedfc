import Foundation
import Glibc
import LinuxSystem
import Namespaces
import Netlink
import Testing

/// Clients that pipeline without reading cannot make smtpd queue output without bound: once
/// a session's pending output reaches its high-water mark, smtpd stops reading and parsing
/// its input, and goes on once the client reads.
///
/// smtpd runs in a namespace of its own whose TCP send buffers are small (`net.ipv4.tcp_wmem`
/// is per namespace): on loopback the kernel would otherwise take megabytes of replies per
/// connection, and what smtpd queues itself would hide behind them.
@Suite(.enabled(if: isRoot, "needs root for a namespace"))
struct BackPressureTests {
    static let clients = 100
    static let helpsPerClient = 10_000

    @Test func nonReadingPipeliningClientsKeepSmtpdSmallAndGetEveryReplyOnceTheyRead() throws {
        let tag = String(
            (0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        // `mlt-PID-…`: NetlinkTests' sweep removes such leftovers once this process is gone.
        let namespace = "mlt-\(getpid())-\(tag)-bp"
        var smtpd: SmtpdProcess?
        defer {
            smtpd?.stop()
            if NetworkNamespace.exists(namespace) { try? NetworkNamespace.delete(namespace) }
        }
        try NetworkNamespace.add(namespace)
        try NetlinkHandle(namespace: namespace).setUp("lo")
        try NetworkNamespace.perform(in: namespace) { () -> Result<Void, SystemError> in
            Result { () throws(SystemError) in
                let path = "/proc/sys/net/ipv4/tcp_wmem"
                let fd = try FileSystem.open(path, O_WRONLY)
                defer { closeDescriptor(fd) }
                try FileSystem.writeAll(fd, [Array("4096 16384 16384\n".utf8)], path: path)
            }
        }.get()
        let directory = try TempDir("backpressure")
        defer { directory.remove() }
        let server = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir", port: "25"),
            directory: directory, port: 25, extraArguments: ["-N", namespace], readyHost: nil)
        smtpd = server
        #expect(server.waitForLog("info: listening on", timeout: 15), "\(server.log)")

        let connect = { @Sendable () throws -> SmallWindowClient in
            try NetworkNamespace.run(in: namespace) { try SmallWindowClient(port: 25) }
        }
        let probe = try connect()
        _ = try probe.readLine()
        try probe.send("HELP\r\n")
        var help = ""
        while !help.hasSuffix("214 2.0.0 End of HELP info\r\n") { help += try probe.readLine() }
        let expected = help.utf8.count * Self.helpsPerClient

        var sessions: [SmallWindowClient] = []
        for _ in 0..<Self.clients {
            let client = try connect()
            #expect(try client.readLine().hasPrefix("220 "))
            sessions.append(client)
        }
        let before = try residentBytes(of: server.sessionPID)

        // Push HELPs into every session without reading, until no socket takes more.
        let input = [UInt8](String(repeating: "HELP\r\n", count: Self.helpsPerClient).utf8)
        var sent = [Int](repeating: 0, count: Self.clients)
        var quietSince = Date()
        while Date().timeIntervalSince(quietSince) < 1.5 {
            var moved = false
            for (index, client) in sessions.enumerated() where sent[index] < input.count {
                let count = input.withUnsafeBytes {
                    Glibc.send(
                        client.fd, $0.baseAddress! + sent[index], $0.count - sent[index],
                        Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
                if count > 0 {
                    sent[index] += count
                    moved = true
                }
            }
            if moved { quietSince = Date() } else { usleep(50_000) }
        }
        let grown = try residentBytes(of: server.sessionPID) - before
        #expect(
            grown < 32 << 20,
            "smtpd grew by \(grown >> 20) MiB; \(sent.reduce(0, +) >> 10) KiB of HELPs were taken")
        // The HELPs the sockets took ask for far more output than the bound: queued without
        // back-pressure, it would show.
        let asked = sent.reduce(0, +) / 6 * help.utf8.count
        #expect(asked > 4 * (32 << 20), "only \(asked >> 20) MiB of replies asked for")

        // Now each reads: it gets every reply, in full, and the session goes on.
        for (index, client) in sessions.enumerated() {
            let received = try exchange(
                client.fd, sending: input, from: sent[index], expecting: expected)
            #expect(received == expected, "client \(index)")
            try client.send("QUIT\r\n")
            #expect(try client.readLine().hasPrefix("221 "))
        }
        #expect(server.isRunning)
    }
}

/// A client whose receive buffer (set before connect, so the window is small for good) holds
/// only a few KiB: what smtpd cannot send stays in smtpd, not in the kernel.
private final class SmallWindowClient: @unchecked Sendable {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw TestFailure("connect: errno \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw TestFailure("send: errno \(errno)")
        }
    }

    /// One line, read a byte at a time (nothing past it is taken from the socket).
    func readLine() throws -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.last != 0x0A {
            guard recv(fd, &byte, 1, 0) == 1 else { throw TestFailure("recv: errno \(errno)") }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }
}

/// VmRSS of a process, in bytes.
private func residentBytes(of pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { throw TestFailure("no VmRSS in /proc/\(pid)/status") }
    return kib << 10
}

/// Sends the rest of `input` while reading replies, until `expected` reply bytes arrived
/// (or 30 s passed); returns the number of reply bytes read.
private func exchange(_ fd: Int32, sending input: [UInt8], from start: Int, expecting expected: Int)
    throws -> Int
{
    var offset = start
    var received = 0
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    let deadline = Date().addingTimeInterval(30)
    while received < expected && Date() < deadline {
        var descriptor = pollfd(
            fd: fd, events: Int16(POLLIN) | (offset < input.count ? Int16(POLLOUT) : 0),
            revents: 0)
        guard poll(&descriptor, 1, 1000) >= 0 else { throw TestFailure("poll: errno \(errno)") }
        if descriptor.revents & Int16(POLLOUT) != 0 {
            let count = input.withUnsafeBytes {
                Glibc.send(
                    fd, $0.baseAddress! + offset, $0.count - offset,
                    Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if count > 0 { offset += count }
        }
        if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            // Never past the replies to the HELPs: QUIT's answer is read by the caller.
            let room = min(buffer.count, expected - received)
            let count = buffer.withUnsafeMutableBytes {
                recv(fd, $0.baseAddress, room, Int32(MSG_DONTWAIT))
            }
            if count == 0 { break }
            if count > 0 { received += count }
        }
    }
    return received
}
