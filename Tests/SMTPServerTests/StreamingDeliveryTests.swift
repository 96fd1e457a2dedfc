import Foundation
import Glibc
import MailLabTestSupport
import Testing

/// Streaming delivery: a message goes to its tmp/ file while it arrives, so a session holds
/// a bounded buffer whatever the message's size; whatever ends a message without a 250
/// leaves nothing behind.
@Suite struct StreamingDeliveryTests {
    /// `Name: value kB` of /proc/PID/status, in KiB.
    static func statusKiB(_ pid: Int32, _ name: String) -> Int {
        let status = readText("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") })
        else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    /// Bytes of the one file in `folder` (-1: not exactly one file).
    static func soleFileSize(_ folder: String) -> Int {
        let files = maildirFiles(folder, "tmp")
        guard files.count == 1 else { return -1 }
        return ((try? FileManager.default.attributesOfItem(atPath: files[0]))?[.size] as? Int) ?? -1
    }

    /// Opens a transaction up to the 354 (or up to RCPT with `data: false`).
    static func openTransaction(
        _ client: LineClient, recipients: [String] = ["osdrefuser@localhost"], data: Bool = true
    ) throws {
        _ = try client.readReply()
        #expect(try client.command("EHLO streaming.test").hasPrefix("250"))
        #expect(try client.command("MAIL FROM:<sender@example.org>").hasPrefix("250"))
        for recipient in recipients {
            #expect(try client.command("RCPT TO:<\(recipient)>").hasPrefix("250"))
        }
        if data { #expect(try client.command("DATA").hasPrefix("354")) }
    }

    /// Sends `count` lines of `bodyLines` in pieces of 8 KiB, as a client writing while it
    /// reads its source.
    static func sendLines(_ client: LineClient, _ count: Int) throws {
        for start in stride(from: 0, to: count, by: 256) {
            let piece = bodyLines(min(256, count - start), from: start)
            for offset in stride(from: 0, to: piece.count, by: 8192) {
                try client.send(bytes: Array(piece[offset..<min(piece.count, offset + 8192)]))
            }
        }
    }

    /// 1000-byte lines (998 characters and CRLF), numbered so no two are alike.
    static func bodyLines(_ count: Int, from start: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 1000)
        for index in start..<(start + count) {
            let number = Array(String(index).utf8)
            bytes += number
            bytes += [UInt8](
                repeating: UInt8(ascii: "a") + UInt8(index % 26), count: 998 - number.count)
            bytes += [13, 10]
        }
        return bytes
    }

    @Test(.requires(.smtpd)) func aClientDrippingAnUnfinishedDataKeepsSmtpdMemoryBounded() throws {
        let directory = try TempDir("drip")
        defer { directory.remove() }
        let maildir = directory.path + "/Maildir"
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: maildir), directory: directory, extraArguments: [])
        defer { smtpd.stop() }
        let client = try LineClient(port: smtpd.port)
        try Self.openTransaction(client, recipients: ["root@localhost"])
        let before = Self.statusKiB(smtpd.sessionPID, "VmRSS")
        let peakBefore = Self.statusKiB(smtpd.sessionPID, "VmHWM")
        try client.send("Subject: drip\r\n\r\n")
        // 30 MiB in 1000-byte lines, sent in small pieces: never finished.
        let total = 30 << 10
        try Self.sendLines(client, total)
        // Everything sent has gone to the tmp/ file, not into the server's memory, but for
        // what the session gathers for its next chunk (less than one chunk, and the line it
        // is in). The file holds the stored form: LF line ends, 999 bytes a line.
        let stored = eventually(within: 30) {
            Self.soleFileSize(maildir) >= total * 999 - (64 << 10) - 1000
        }
        #expect(stored, "tmp/ holds \(Self.soleFileSize(maildir)) bytes")
        let peak = Self.statusKiB(smtpd.sessionPID, "VmHWM")
        let after = Self.statusKiB(smtpd.sessionPID, "VmRSS")
        #expect(before > 0 && peak > 0)
        // Bounded, not zero: the stream writer's thread costs a few MiB once; main's design
        // grew by the whole message (BENCHMARKS.md, "Streaming delivery").
        #expect(
            peak - max(before, peakBefore) < 12 * 1024,
            "peak RSS grew from \(max(before, peakBefore)) KiB to \(peak) KiB (now \(after) KiB)")
        #expect(maildirFiles(maildir).isEmpty)

        // The client goes away mid-DATA: the partial file goes too.
        Glibc.shutdown(client.fd, Int32(SHUT_RDWR))
        #expect(eventually(within: 5) { maildirFiles(maildir, "tmp").isEmpty })
        #expect(maildirFiles(maildir).isEmpty)
    }

    /// Most mail fits the opening threshold (`SessionHandler.streamOpening`, 128 KiB): it
    /// opens no tmp/ file while it arrives (no stream, no stream writer between its dot and
    /// its flush) and is stored whole at its dot; a longer message opens its file before its
    /// end.
    @Test func aMessageWithinTheOpeningThresholdOpensNoFileBeforeItsDot() async throws {
        try await withServer { server in
            try await blocking { [port = server.port, maildir = server.maildir] in
                let client = try LineClient(port: port)
                try Self.openTransaction(client)
                try client.send(bytes: Array("Subject: small\r\n\r\n".utf8) + Self.bodyLines(120))
                #expect(!eventually(within: 0.5) { !maildirFiles(maildir, "tmp").isEmpty })
                #expect(try client.command(".").hasPrefix("250 "))
                #expect(maildirFiles(maildir).count == 1)

                #expect(try client.command("MAIL FROM:<sender@example.org>").hasPrefix("250"))
                #expect(try client.command("RCPT TO:<osdrefuser@localhost>").hasPrefix("250"))
                #expect(try client.command("DATA").hasPrefix("354"))
                try client.send(bytes: Array("Subject: big\r\n\r\n".utf8) + Self.bodyLines(140))
                #expect(eventually(within: 5) { !maildirFiles(maildir, "tmp").isEmpty })
                #expect(try client.command(".").hasPrefix("250 "))
                #expect(maildirFiles(maildir).count == 2)
            }
            #expect(eventually(within: 5) { maildirFiles(server.maildir, "tmp").isEmpty })
        }
    }

    /// MAILLAB_FLUSH_TRACE: a line per message in its session and per job in the writer, the
    /// stages in the order they happen (BENCHMARKS.md, "Where the flush wait goes").
    @Test(.requires(.smtpd)) func theFlushTraceStampsEachStageOfAMessageInOrder() throws {
        let directory = try TempDir("flushtrace")
        defer { directory.remove() }
        // Writable by everyone, outside the test's folder: with the process split the S lines
        // come from the network side, which runs as another user.
        let trace = "/tmp/maillab-flushtrace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let made = open(trace, O_CREAT | O_EXCL | O_WRONLY, 0o666)
        #expect(made >= 0 && fchmod(made, 0o666) == 0)
        close(made)
        defer { unlink(trace) }
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir"), directory: directory,
            extraArguments: [], environment: ["MAILLAB_FLUSH_TRACE": trace])
        defer { smtpd.stop() }
        let client = try LineClient(port: smtpd.port)
        try Self.openTransaction(client, recipients: ["root@localhost"])
        for index in 0..<3 {
            if index > 0 {
                #expect(try client.command("MAIL FROM:<sender@example.org>").hasPrefix("250"))
                #expect(try client.command("RCPT TO:<root@localhost>").hasPrefix("250"))
                #expect(try client.command("DATA").hasPrefix("354"))
            }
            #expect(try client.command("Subject: traced\r\n\r\nbody\r\n.").hasPrefix("250 "))
        }
        func stamps(_ kind: Substring) -> [[UInt64]] {
            readText(trace).split(separator: "\n").map { $0.split(separator: " ") }
                .filter { $0.first == kind }.map { $0.dropFirst().compactMap { UInt64($0) } }
        }
        // The lines are written just after the 250.
        #expect(
            eventually(within: 5) { stamps("J").count == 3 && stamps("S").count == 3 },
            "\(readText(trace))")
        let sessions = stamps("S")
        let jobs = stamps("J")
        for stamps in sessions {
            #expect(stamps.count == 5 && stamps.allSatisfy { $0 > 0 }, "\(stamps)")
            #expect(stamps == stamps.sorted(), "S \(stamps)")
        }
        for stamps in jobs {
            // Eight times, then the batch's jobs and files.
            #expect(stamps.count == 10 && stamps[8] >= 1 && stamps[9] >= 1, "\(stamps)")
            #expect(Array(stamps[..<8]) == stamps[..<8].sorted() && stamps[0] > 0, "J \(stamps)")
        }
    }

    @Test func aMessageMuchBiggerThanTheSessionBufferIsStoredByteIdentical() async throws {
        try await withServer { server in
            let lines = Self.bodyLines(3_000)
            // Dot-stuffed lines, a bare CR, LF-only lines and a header that spans lines.
            let tricky = Array("..stuffed\r\n.\r\r\nbare\rcr\r\nlf only\n...\r\n".utf8)
            let header = Array("Subject: big\r\nX-Folded: one\r\n\ttwo\r\n\r\n".utf8)
            try await blocking { [port = server.port] in
                let client = try LineClient(port: port)
                try Self.openTransaction(
                    client, recipients: ["osdrefuser@localhost", "root@localhost"])
                try client.send(bytes: header + lines + tricky + lines)
                #expect(try client.command(".").hasSuffix("Message accepted for delivery"))
            }
            let files = maildirFiles(server.maildir)
            #expect(files.count == 2)
            // The local listener adds Message-ID: last in the header section.
            let expectedBody =
                Array(">\n\n".utf8)
                + Self.lf(lines) + Array(".stuffed\n\r\nbare\rcr\nlf only\n..\n".utf8)
                + Self.lf(lines)
            var rests: [[UInt8]] = []
            for file in files {
                let bytes = readBytes(file)
                let text = String(decoding: bytes.prefix(400), as: UTF8.self)
                #expect(text.hasPrefix("Return-Path: <sender@example.org>\nDelivered-To: "))
                #expect(text.contains("\nSubject: big\nX-Folded: one\n\ttwo\nDate: "))
                #expect(bytes.count > expectedBody.count)
                let bodyMatches = Array(bytes.suffix(expectedBody.count)) == expectedBody
                #expect(
                    bodyMatches,
                    "\(file): the body differs at \(Self.firstDifference(bytes, expectedBody))")
                // After Delivered-To the files are the same.
                let afterPrefix =
                    bytes.split(separator: 10, maxSplits: 2).last.map(Array.init) ?? []
                rests.append(afterPrefix)
                // The feed's copy is the first recipient's file.
            }
            let restsMatch = rests.count == 2 && rests[0] == rests[1]
            #expect(restsMatch, "the files differ after Delivered-To")
            let message = try await server.server.nextMessage(timeout: 5)
            #expect(files.contains { readBytes($0) == message.content })
            #expect(eventually(within: 5) { maildirFiles(server.maildir, "tmp").isEmpty })
        }
    }

    /// Where `stored` stops ending like `expected`: offset from the end, and both bytes there.
    static func firstDifference(_ stored: [UInt8], _ expected: [UInt8]) -> String {
        var back = 1
        while back <= min(stored.count, expected.count)
            && stored[stored.count - back] == expected[expected.count - back]
        {
            back += 1
        }
        guard back <= min(stored.count, expected.count) else {
            return "none (\(stored.count) vs \(expected.count) bytes)"
        }
        return
            "\(back) bytes from the end: stored \(stored[stored.count - back]), expected \(expected[expected.count - back]); "
            + "stored \(stored.count) bytes, expected \(expected.count)"
    }

    /// The stored form of CRLF lines: LF line ends.
    static func lf(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13 && index + 1 < bytes.count && bytes[index + 1] == 10 {
                index += 1
                continue
            }
            out.append(bytes[index])
            index += 1
        }
        return out
    }

    @Test func aBinaryBdatMessageWithoutLineEndsIsStoredWhole() async throws {
        try await withServer { server in
            let binary = (0..<600_000).map { UInt8(truncatingIfNeeded: ($0 * 7) % 251 + 1) }
                .map { $0 == 10 || $0 == 13 ? UInt8(0x41) : $0 }
            let header = Array("Subject: bin\r\n\r\n".utf8)
            try await blocking { [port = server.port] in
                let client = try LineClient(port: port)
                try Self.openTransaction(client, data: false)
                try client.send(
                    bytes: Array("BDAT \(header.count + binary.count)\r\n".utf8) + header + binary)
                #expect(try client.readReply().first?.hasPrefix("250 2.0.0 Ok") == true)
                try client.send(bytes: Array("BDAT 4 LAST\r\n\r\nZ!".utf8))
                #expect(
                    try client.readReply().first?.hasSuffix("Message accepted for delivery\r\n")
                        == true)
            }
            let files = maildirFiles(server.maildir)
            #expect(files.count == 1)
            let expected = Array(">\n\n".utf8) + binary + Array("\nZ!\n".utf8)
            let matches = files.first.map {
                Array(readBytes($0).suffix(expected.count)) == expected
            }
            #expect(
                matches == true,
                "the stored body differs at \(files.first.map { Self.firstDifference(readBytes($0), expected) } ?? "")"
            )
        }
    }

    @Test func aMessageOverTheSizeLimitLeavesTmpBeforeItsEndAndIsRefused() async throws {
        let config = localDeliveryConfig + "\nsmtp max-message-size 1000000\n"
        try await withServer(config: config) { server in
            try await blocking { [port = server.port, maildir = server.maildir] in
                let client = try LineClient(port: port)
                try Self.openTransaction(client)
                try client.send(bytes: Array("Subject: big\r\n\r\n".utf8) + Self.bodyLines(400))
                // Under the limit: being written.
                #expect(eventually(within: 5) { Self.soleFileSize(maildir) > 300_000 })
                try client.send(bytes: Self.bodyLines(1_000, from: 400))
                // Over it: nothing more is stored, and what was is gone already.
                #expect(eventually(within: 5) { maildirFiles(maildir, "tmp").isEmpty })
                let reply = try client.command(".")
                #expect(reply.hasPrefix("554 5.3.4 "), "\(reply)")
                #expect(try client.command("NOOP") == "250 2.0.0 Ok")
            }
            #expect(maildirFiles(server.maildir).isEmpty)
            #expect(maildirFiles(server.maildir, "tmp").isEmpty)
        }
    }

    @Test(arguments: [
        ("loop", String(repeating: "Received: from x\r\n", count: 100), "500 5.4.6 "),
        ("malformed", "Subject: m\r\nno colon here\r\n", "550 5.7.1 "),
    ])
    func aMessageRefusedAfterItsDotLeavesNothing(
        kind: String, header: String, reply expected: String
    ) async throws {
        try await withServer { server in
            try await blocking { [port = server.port] in
                let client = try LineClient(port: port)
                try Self.openTransaction(client)
                try client.send(bytes: Array(header.utf8) + [13, 10] + Self.bodyLines(500))
                let reply = try client.command(".")
                #expect(reply.hasPrefix(expected), "\(kind): \(reply)")
            }
            #expect(maildirFiles(server.maildir).isEmpty)
            #expect(maildirFiles(server.maildir, "tmp").isEmpty)
        }
    }

    @Test func anAcceptAndDropFaultStoresNothingOfAStreamedMessage() async throws {
        let config = localDeliveryConfig + "\nfault at after-data accept-and-drop\n"
        try await withServer(config: config) { server in
            try await blocking { [port = server.port] in
                let client = try LineClient(port: port)
                try Self.openTransaction(client)
                try client.send(bytes: Array("Subject: lost\r\n\r\n".utf8) + Self.bodyLines(500))
                #expect(try client.command(".").hasSuffix("Message accepted for delivery"))
            }
            #expect(maildirFiles(server.maildir).isEmpty)
            #expect(maildirFiles(server.maildir, "tmp").isEmpty)
        }
    }
}
