import Foundation
import Glibc
import SMTPServer
import Synchronization
import Testing

/// What a client is told when `stop()` races with its final dot must match what happened:
/// a 250 only for a stored message, and no stored message for a client told 421 (it will
/// send again).
@Suite struct StopRaceTests {
    final class Outcomes: Sendable {
        let replies = Mutex<[String: String]>([:])
        let ready = Atomic<Int>(0)
        let go = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        /// Wakes the clients all at once (busy polling would starve the server's loops).
        let gate = NSCondition()

        func open() {
            gate.lock()
            go.store(true, ordering: .relaxed)
            gate.broadcast()
            gate.unlock()
        }

        func waitOpen() {
            gate.lock()
            while !go.load(ordering: .relaxed) { gate.wait() }
            gate.unlock()
        }
    }

    static let offsets = [-2000, -500, 0, 100, 200, 300, 400, 600, 1000, 3000]

    @Test(arguments: 0..<10)
    func repliesToDotsRacingStopMatchTheMaildir(round: Int) throws {
        let directory = try TempDir("stoprace")
        defer { directory.remove() }
        var options = MailServer.Options()
        options.loops = 2
        options.serverName = "vm"
        let server = try MailServer.catchAll(maildir: directory.path + "/Maildir", options: options)
        try server.start()
        defer { server.stop() }
        let port = try #require(server.addresses.first?.port)
        let outcomes = Outcomes()
        let clients = 30
        // The dots go out `offset` µs after stop() begins (negative: before it).
        let offset = Self.offsets[round]
        let stopper = Thread {
            while outcomes.ready.load(ordering: .relaxed) < clients { usleep(1000) }
            if offset < 0 {
                outcomes.open()
                usleep(UInt32(-offset))
                server.stop(graceSeconds: 5)
            } else {
                let opener = Thread {
                    usleep(UInt32(offset))
                    outcomes.open()
                }
                opener.start()
                server.stop(graceSeconds: 5)
            }
            outcomes.stopped.store(true, ordering: .releasing)
        }
        stopper.start()
        onThreads(clients) { index in
            let token = "race\(round)-\(index)"
            var reply = "(no session)"
            defer {
                outcomes.replies.withLock { $0[token] = reply }
                if reply == "(no session)" { outcomes.ready.add(1, ordering: .relaxed) }
            }
            guard let client = try? LineClient(port: port) else { return }
            // Without it the dot waits for the ACK of the body (Nagle vs. delayed ACK, ~40 ms).
            var one: Int32 = 1
            setsockopt(
                client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one,
                socklen_t(MemoryLayout<Int32>.size))
            _ = try? client.readReply()
            for command in [
                "HELO race", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "DATA",
            ] {
                _ = try? client.command(command)
            }
            try? client.send("Subject: \(token)\r\n\r\nbody \(token)\r\n")
            reply = "(no reply)"
            outcomes.ready.add(1, ordering: .relaxed)
            outcomes.waitOpen()
            try? client.send(".\r\n")
            reply = ((try? client.readLine()) ?? nil) ?? "(closed)"
        }
        // Only a stopped server has said its last word about every message.
        while !outcomes.stopped.load(ordering: .acquiring) { usleep(1000) }
        let stored = Set(
            maildirFiles(directory.path + "/Maildir").compactMap { file in
                readText(file).firstMatch(of: /\nbody (race\d+-\d+)\n/).map { String($0.1) }
            })
        let replies = outcomes.replies.withLock { $0 }
        #expect(replies.count == clients)
        for (token, reply) in replies.sorted(by: { $0.key < $1.key }) {
            #expect(
                lineMatches(reply, "250 2.0.0 <id> Message accepted for delivery")
                    || reply == "421 4.3.0 vm Server shutting down\r\n",
                "\(token): \(reply.debugDescription)")
            if reply.hasPrefix("250 ") {
                #expect(stored.contains(token), "\(token) got 250 but is not stored")
            } else {
                #expect(
                    !stored.contains(token), "\(token) got \(reply.debugDescription) but was stored"
                )
            }
        }
    }
}
