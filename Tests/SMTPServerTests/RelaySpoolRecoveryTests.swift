import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// The relay queue's spool is written by the same one-flush writer as a Maildir: a queued
/// message whose 250 came while its file was still in the spool's tmp/ (whole, flushed, not
/// yet linked: a crash between the flush and the link) must be moved into new/ before the
/// queue reads the spool at start, and resumed with the rest.
@Suite(.requires(.smtpd)) struct RelaySpoolRecoveryTests {
    @Test func aQueuedMessageLeftWholeInTheSpoolsTmpIsResumedAtStart() throws {
        let directory = try TempDir("spool-recovery")
        defer { directory.remove() }
        let spool = directory.path + "/spool"
        // The next hop refuses connections (a loopback port nobody listens on): the message
        // stays queued.
        let closed = try freePort()
        let config = """
            queue directory "\(spool)"
            queue retry 1h 1h
            listen on 127.0.0.1 port @PORT@
            action "out" relay host "smtp://127.0.0.1:\(closed)"
            match from any for domain "far.example" action "out"

            """
        let first = try SmtpdProcess(config: config, directory: directory, extraArguments: [])
        let reply = try sendMail(
            host: "127.0.0.1", port: first.port, from: "a@near.example", to: ["b@far.example"],
            subject: "left in tmp")
        #expect(reply.hasPrefix("250 "), "\(reply)")
        // A root smtpd's spool is written by its network side (docs/PRIVILEGES.md), which
        // dies after its parent: the sweep recovers only what no running process wrote.
        let writer = first.networkSidePID
        first.stop()
        if let writer {
            let deadline = Date().addingTimeInterval(10)
            while kill(writer, 0) == 0 && Date() < deadline { usleep(10_000) }
        }

        // As a crash right after the flush leaves it: whole in tmp/ under its marked name.
        let queued = try #require(maildirFiles(spool).first, "nothing queued: \(first.log)")
        let name = String(queued.split(separator: "/").last!)
        let size = readBytes(queued).count
        #expect(rename(queued, spool + "/tmp/\(name),S=\(size)") == 0)

        let second = try SmtpdProcess(config: config, directory: directory, extraArguments: [])
        defer { second.stop() }
        #expect(second.log.contains("info: queue: resumed 1 message(s)"), "\(second.log)")
        #expect(maildirFiles(spool).map { String($0.split(separator: "/").last!) } == [name])
        #expect(maildirFiles(spool, "tmp").isEmpty)
    }
}
