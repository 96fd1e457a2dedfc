import Foundation
import Glibc
import MailLabTestSupport
import MailQueue
import SMTPProtocol
import Testing

/// The relay queue keeps a message's content in its spool file and reads it a piece at a
/// time as it goes out (docs/RELAY.md, "Memory"): a queue of big messages costs the
/// network side no more than a constant, however many and however big they are.
@Suite(.serialized) struct RelayMemoryTests {
    /// Stored content of `megabytes` MiB: a header, then 999-byte lines, some starting with
    /// a dot (stuffed on the wire, unstuffed by the next hop).
    static func content(_ index: Int, megabytes: Int) -> [UInt8] {
        var bytes = Array("Subject: big \(index)\nMessage-ID: <big\(index)@relay.test>\n\n".utf8)
        bytes.reserveCapacity(megabytes << 20 + 1024)
        var line = [UInt8](repeating: UInt8(ascii: "a") + UInt8(index % 26), count: 998) + [10]
        var number = 0
        while bytes.count < megabytes << 20 {
            line[0] = number % 7 == 0 ? UInt8(ascii: ".") : UInt8(ascii: "0") + UInt8(number % 10)
            bytes += line
            number += 1
        }
        return bytes
    }

    /// Three spool files of 24 MiB, left by an earlier run: resumed, relayed whole to the next
    /// hop, and the network side's peak RSS stays under 48 MiB (it was above their sum when
    /// the queue held content in memory).
    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0))
    func aQueueOfBigMessagesIsRelayedWithoutHoldingThemInMemory() throws {
        let directory = try TempDir("relay-memory")
        defer { directory.remove() }
        let hop = try SplitRelayTests.nextHop(directory)
        defer { hop.stop() }
        let spool = directory.path + "/spool"
        for folder in ["", "/tmp", "/new", "/cur"] {
            #expect(mkdir(spool + folder, 0o700) == 0)
        }
        let now = Int64(Date().timeIntervalSince1970)
        var contents: [[UInt8]] = []
        for index in 0..<3 {
            let content = Self.content(index, megabytes: 24)
            contents.append(content)
            let message = QueuedMessage(
                id: UInt32(0x5eed_0000 + index),
                sender: .address(MailAddress(localPart: "alice", domain: "relay.test")),
                created: now, expires: now + 3_600,
                recipients: [
                    QueuedRecipient(
                        address: MailAddress(localPart: "root", domain: "far.test"),
                        action: "out")
                ])
            #expect(
                FileManager.default.createFile(
                    atPath: spool + "/new/\(now).M\(index)P1.relay.test",
                    contents: Data(QueueFileCodec.encode(message, content: content))))
        }
        let smtpd = try SplitRelayTests.relaying(directory, to: hop.port)
        defer { smtpd.stop() }
        let delivered = directory.path + "/hop/new"
        let arrived = eventually(within: 120) {
            smtpd.log.components(separatedBy: "> delivered").count == 4
        }
        #expect(arrived, "\(smtpd.log)")
        let peak = StreamingDeliveryTests.statusKiB(smtpd.sessionPID, "VmHWM")
        #expect(peak > 0 && peak < 48 * 1024, "the network side's peak RSS: \(peak) KiB")
        // Each arrived whole: the next hop's copy ends with the body as queued.
        for file in SplitRelayTests.files(delivered) {
            let stored = try #require(FileManager.default.contents(atPath: file))
            let subject = try #require(
                contents.firstIndex { content in
                    let header = content.prefix(30)
                    return stored.range(of: Data(header)) != nil
                })
            let body = contents[subject].split(separator: 10, omittingEmptySubsequences: false)
            let blank = body.firstIndex { $0.isEmpty } ?? 0
            let expected = Array(body[(blank + 1)...].joined(separator: [10]))
            #expect(Array(stored.suffix(expected.count)) == expected, "\(file)")
        }
    }

    /// A 30 MiB message for a local and a relayed recipient streams as it arrives: into the
    /// local Maildir and into the spool file (by the network side when split, in one process
    /// as one more file of the stream), then out to the next hop, with the serving process's
    /// peak RSS up by less than 16 MiB (it grew by the whole message while relayed content
    /// was taken whole).
    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0), arguments: [false, true])
    func aBigRelayedMessageStreamsIntoTheSpoolAndOut(oneProcess: Bool) throws {
        let directory = try TempDir("relay-stream")
        defer { directory.remove() }
        let hop = try SplitRelayTests.nextHop(directory)
        defer { hop.stop() }
        let smtpd = try SplitRelayTests.relaying(directory, to: hop.port, oneProcess: oneProcess)
        defer { smtpd.stop() }
        #expect(oneProcess == (smtpd.networkSidePID == nil), "\(smtpd.log)")
        let client = try LineClient(port: smtpd.port, timeout: 60)
        try StreamingDeliveryTests.openTransaction(
            client, recipients: ["root@local.test", "root@remote.test"])
        let before = max(
            StreamingDeliveryTests.statusKiB(smtpd.sessionPID, "VmRSS"),
            StreamingDeliveryTests.statusKiB(smtpd.sessionPID, "VmHWM"))
        try client.send("Subject: big relayed\r\n\r\n")
        let lines = 30 << 10
        try StreamingDeliveryTests.sendLines(client, lines)
        #expect(try client.command(".").hasPrefix("250 "), "\(smtpd.log)")
        let peak = StreamingDeliveryTests.statusKiB(smtpd.sessionPID, "VmHWM")
        #expect(
            before > 0 && peak - before < 16 * 1024,
            "peak RSS grew from \(before) KiB to \(peak) KiB")
        #expect(
            smtpd.waitForLog("to=<root@remote.test> delivered", timeout: 60), "\(smtpd.log)")
        // Both copies whole: the body as sent, LF-stored.
        var body: [UInt8] = []
        for start in stride(from: 0, to: lines, by: 1024) {
            body += StreamingDeliveryTests.bodyLines(1024, from: start).filter { $0 != 13 }
        }
        for folder in [directory.path + "/Maildir/new", directory.path + "/hop/new"] {
            let files = SplitRelayTests.files(folder)
            #expect(files.count == 1, "\(folder): \(files)")
            for file in files {
                let stored = Array(try #require(FileManager.default.contents(atPath: file)))
                #expect(Array(stored.suffix(body.count)) == body, "\(file)")
                #expect(
                    String(decoding: stored.prefix(4096), as: UTF8.self).contains(
                        "Subject: big relayed"))
            }
        }
        let after = StreamingDeliveryTests.statusKiB(smtpd.sessionPID, "VmHWM")
        #expect(after - before < 16 * 1024, "peak RSS after relaying: \(after) KiB")
    }

    /// A relayed message whose client goes away mid-DATA, past the point where it streams,
    /// leaves nothing in the spool (nor in the local Maildir), and nothing is relayed.
    @Test(.requires(.smtpd), .enabled(if: geteuid() == 0), arguments: [false, true])
    func aRelayedMessageCutOffMidDataLeavesNothingInTheSpool(oneProcess: Bool) throws {
        let directory = try TempDir("relay-cut")
        defer { directory.remove() }
        let smtpd = try SplitRelayTests.relaying(directory, to: 9, oneProcess: oneProcess)
        defer { smtpd.stop() }
        let client = try LineClient(port: smtpd.port, timeout: 30)
        try StreamingDeliveryTests.openTransaction(
            client, recipients: ["root@local.test", "root@remote.test"])
        try client.send("Subject: cut\r\n\r\n")
        try client.send(bytes: StreamingDeliveryTests.bodyLines(2048))
        let spool = directory.path + "/spool"
        // Streaming: the spool's tmp/ holds the message's file while it arrives.
        #expect(
            eventually(within: 10) { !SplitRelayTests.files(spool + "/tmp").isEmpty },
            "\(smtpd.log)")
        Glibc.shutdown(client.fd, Int32(SHUT_RDWR))
        #expect(
            eventually(within: 10) {
                SplitRelayTests.files(spool + "/tmp").isEmpty
                    && SplitRelayTests.files(directory.path + "/Maildir/tmp").isEmpty
            }, "\(SplitRelayTests.files(spool + "/tmp"))")
        #expect(SplitRelayTests.files(spool + "/new").isEmpty)
        #expect(SplitRelayTests.files(directory.path + "/Maildir/new").isEmpty)
    }
}
