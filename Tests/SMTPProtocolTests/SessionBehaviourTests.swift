import Testing

@testable import SMTPProtocol

private let open = "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\n"

@Suite("Session behaviour and departures")
struct SessionBehaviourTests {
    @Test("EHLO advertises PIPELINING by default, before HELP")
    func pipeliningAdvertised() {
        var configuration = referenceConfiguration()
        configuration.advertisePipelining = true
        var driver = Driver(configuration: configuration)
        driver.start()
        #expect(
            driver.send("EHLO x\r\n").replies.suffix(3) == [
                "250-DSN", "250-PIPELINING", "250 HELP",
            ])
    }

    @Test("idle timeout: 421 4.4.2 and close (departure: OpenSMTPD closes silently)")
    func timeout() {
        var session = SMTPSession(
            configuration: referenceConfiguration(), peer: localPeer, policy: FakePolicy(),
            environment: fixedEnvironment())
        _ = session.start()
        let events = session.timedOut()
        #expect(events.replies == ["421 4.4.2 vm Timeout exceeded, closing connection"])
        #expect(events.closes == 1)
        #expect(events.logs.last == "\(session.id) smtp disconnected reason=timeout")
        #expect(!session.wantsInput)
        #expect(session.receive(Array("NOOP\r\n".utf8)).isEmpty)
        #expect(session.timedOut().isEmpty)
    }

    @Test("too many errors: 421 4.7.0 after maxErrors error replies")
    func tooManyErrors() {
        var configuration = referenceConfiguration()
        configuration.limits.maxErrors = 3
        var driver = Driver(configuration: configuration)
        driver.start()
        let events = driver.send("FOO\r\nNOOP\r\nBAR\r\nBAZ\r\nNOOP\r\n")
        #expect(
            events.replies == [
                "500 5.5.1 Invalid command: Command unrecognized", "250 2.0.0 Ok",
                "500 5.5.1 Invalid command: Command unrecognized",
                "500 5.5.1 Invalid command: Command unrecognized",
                "421 4.7.0 vm Too many errors, closing connection",
            ])
        #expect(events.closes == 1)
    }

    @Test(
        "delivery failures keep the session",
        arguments: [
            (DeliveryOutcome.failed(.temporary), "451 4.3.0 Temporary failure, message not stored"),
            (
                DeliveryOutcome.failed(
                    DeliveryFailure(code: 452, enhancedStatus: "4.3.1", text: "Disk full\r\nX")),
                "452 4.3.1 Disk full??X"
            ),
            (
                DeliveryOutcome.failed(
                    DeliveryFailure(code: 554, enhancedStatus: "5.2.0", text: "Mailbox unavailable")
                ),
                "554 5.2.0 Mailbox unavailable"
            ),
        ])
    func deliveryFailure(_ outcome: DeliveryOutcome, _ reply: String) {
        var driver = Driver()
        driver.outcome = outcome
        driver.start()
        let events = driver.send(open + "\r\nbody\r\n.\r\nNOOP\r\n")
        #expect(events.replies.suffix(2) == [reply, "250 2.0.0 Ok"])
        #expect(!events.logs.contains { $0.contains("smtp message") })
    }

    @Test(
        "SIZE= parameter",
        arguments: [
            ("SIZE=100", "250 2.0.0 Ok"), ("SIZE=0000000000000000000001", "250 2.0.0 Ok"),
            ("SIZE=36700160", "250 2.0.0 Ok"),
            (
                "SIZE=36700161",
                "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
            ),
            (
                "SIZE=99999999999999999999999999",
                "552 5.3.4 Message too big for system: Message size exceeds fixed maximum message size"
            ),
            ("SIZE=-1", "501 5.5.4 Invalid command arguments: Bad SIZE value"),
            ("SIZE=abc", "501 5.5.4 Invalid command arguments: Bad SIZE value"),
            ("SIZE=", "501 5.5.4 Invalid command arguments: Bad SIZE value"),
            (
                "AUTH=<x\rEVIL>",
                "501 5.5.4 Invalid command arguments: Control character in parameter"
            ),
            ("ENVID=" + repeated("e", 100), "250 2.0.0 Ok"),
            (
                "ENVID=" + repeated("e", 101),
                "503 5.5.4 Invalid command arguments: option too large, truncated: "
                    + repeated("e", 101)
            ),
            ("FOO=BAR", "503 5.5.4 Invalid command arguments: Unsupported option FOO=BAR"),
        ])
    func sizeParameter(_ parameter: String, _ reply: String) {
        var driver = Driver()
        driver.start()
        #expect(driver.send("HELO x\r\nMAIL FROM:<a@b> \(parameter)\r\n").replies.last == reply)
    }

    @Test(
        "RCPT parameters",
        arguments: [
            ("NOTIFY=NEVER", "250 2.1.5 Destination address valid: Recipient ok"),
            ("NOTIFY=never,DELAY", "553 NOTIFY option NEVER cannot be combined with other options"),
            ("ORCPT=rfc822;" + repeated("o", 256) + "@x", "553 ORCPT address syntax error"),
            ("FOO=bar", "503 Unsupported option FOO=bar"),
        ])
    func recipientParameters(_ parameter: String, _ reply: String) {
        var driver = Driver()
        driver.start()
        #expect(
            driver.send("HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm> \(parameter)\r\n").replies
                .last == reply)
    }

    @Test("echoed text is cut so that no reply line exceeds 512 bytes")
    func replyCap() {
        var driver = Driver()
        driver.start()
        let events = driver.send("HELO x\r\nMAIL FROM:<a@b> " + repeated("Z", 2000) + "\r\n")
        let last = events.rawReplies.last ?? []
        #expect(last.count == 512)
        #expect(last.suffix(2) == [13, 10])
    }

    @Test("temporary recipient failure")
    func temporaryRecipientFailure() {
        var session = SMTPSession(
            configuration: referenceConfiguration(), peer: localPeer,
            policy: FakePolicy(temporaryFailureUsers: ["root"]), environment: fixedEnvironment())
        _ = session.start()
        let events = session.receive(
            Array("HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\n".utf8))
        #expect(events.replies.last == "451 Temporary failure: <root@vm>")
    }

    @Test("IPv6 peer in the HELO reply and Received header")
    func ipv6Peer() {
        var driver = Driver(peer: PeerInfo(address: "::1", hostName: nil))
        driver.start()
        driver.send(open + "\r\nx\r\n.\r\n")
        #expect(driver.events.replies[1] == "250 vm Hello x [::1], pleased to meet you")
        let content = String(decoding: driver.events.messages.first?.content ?? [], as: UTF8.self)
        #expect(content.hasPrefix("Received: from x (<unknown> [::1])\n"))
    }

    @Test("peer closing mid-DATA: no delivery, disconnect logged")
    func closeMidData() {
        var driver = Driver()
        driver.start()
        driver.send(open + "Subject: Aborted\r\n\r\npartial\r\n")
        let events = driver.disconnect()
        #expect(driver.events.messages.isEmpty)
        #expect(
            events == [.log("\(driver.session.id) smtp disconnected reason=disconnect"), .close])
        #expect(!driver.session.wantsInput)
    }

    @Test("message size boundary: counted bytes = max accepted, max + 1 refused")
    func sizeBoundary() {
        for (extra, accepted) in [(0, true), (1, false)] {
            var configuration = referenceConfiguration()
            configuration.limits.maxMessageSize = 100
            var driver = Driver(configuration: configuration)
            driver.start()
            // "Subject: s" (10+1) + "" (1) + 87 + 1 = 100 counted bytes, before unstuffing
            let body = "." + repeated("y", 86 + extra)
            let events = driver.send(open + "Subject: s\r\n\r\n\(body)\r\n.\r\n")
            #expect((events.messages.count == 1) == accepted)
            if !accepted {
                #expect(
                    events.replies.last
                        == "554 5.3.4 Message too big for system: Transaction failed, message too big"
                )
            }
        }
    }

    @Test(
        "oversized header pieces are refused as not RFC 2822 compliant",
        arguments: [
            "From: a" + repeated("\r\n b", 40000) + "\r\n\r\nbody\r\n",
            repeated("N", 1023) + ": v\r\n\r\nbody\r\n",
        ])
    func oversizedHeader(_ message: String) {
        var driver = Driver()
        driver.start()
        let events = driver.send(open + message + ".\r\n")
        #expect(events.messages.isEmpty)
        #expect(
            events.replies.last == "550 5.7.1 Delivery not authorized, message refused: "
                + "Message is not RFC 2822 compliant")
    }

    @Test("early talker: input before start() is answered after the banner")
    func earlyTalker() {
        var session = SMTPSession(
            configuration: referenceConfiguration(), peer: localPeer, policy: FakePolicy(),
            environment: fixedEnvironment())
        #expect(session.receive(Array("NOOP\r\n".utf8)).isEmpty)
        #expect(session.start().replies == ["220 vm ESMTP MailLab", "250 2.0.0 Ok"])
    }

    @Test("nothing after QUIT is processed")
    func quitEndsPipeline() {
        var driver = Driver()
        driver.start()
        let events = driver.send("NOOP\r\nQUIT\r\nNOOP\r\n")
        #expect(events.replies == ["250 2.0.0 Ok", "221 2.0.0 Bye"])
        #expect(events.last == .close)
        #expect(driver.send("NOOP\r\n").isEmpty)
    }

    @Test("size error wins over an earlier loop error")
    func sizeWinsOverLoop() {
        var configuration = referenceConfiguration()
        configuration.limits.maxReceivedHeaders = 2
        configuration.limits.maxMessageSize = 100
        var driver = Driver(configuration: configuration)
        driver.start()
        let events = driver.send(open + receivedHeaders(2) + repeated("z", 100) + "\r\n.\r\n")
        #expect(events.replies.last?.hasPrefix("554 5.3.4") == true)
    }

    @Test(
        "UTC dates without Foundation",
        arguments: [
            (Int64(0), "Thu, 1 Jan 1970 00:00:00 +0000 (UTC)"),
            (Int64(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000 (UTC)"),
            (Int64(1_795_924_911), "Sun, 29 Nov 2026 04:01:51 +0000 (UTC)"),
            (Int64(-1), "Wed, 31 Dec 1969 23:59:59 +0000 (UTC)"),
            (Int64(4_107_542_400), "Mon, 1 Mar 2100 00:00:00 +0000 (UTC)"),
        ])
    func dates(_ seconds: Int64, _ text: String) {
        #expect(DateText.format(unixSeconds: seconds) == text)
    }

    @Test("framer: LF ends a line, one CR before it is stripped, other CRs are data")
    func framer() {
        var framer = LineFramer(lineMax: 10)
        framer.append(Array("a\r\nb\nc\r\r\nd\re".utf8))
        #expect(framer.next() == .line(Array("a".utf8), endedWithCRLF: true))
        #expect(framer.next() == .line(Array("b".utf8), endedWithCRLF: false))
        #expect(framer.next() == .line(Array("c\r".utf8), endedWithCRLF: true))
        #expect(framer.next() == .needMore)
        framer.append(Array("\n".utf8))
        #expect(framer.next() == .line(Array("d\re".utf8), endedWithCRLF: false))
        framer.append(Array("123456789\r".utf8))
        #expect(framer.next() == .tooLong)  // 10 bytes without LF
        var exact = LineFramer(lineMax: 10)
        exact.append(Array("12345678\r\n".utf8))
        #expect(exact.next() == .line(Array("12345678".utf8), endedWithCRLF: true))
    }

    @Test(
        "From/To/Cc domain append",
        arguments: [
            (" abgelaescht\n", " abgelaescht@vm\n"),
            (" osdrefuser, \"Some One\" <other>\n", " osdrefuser@vm, \"Some One\" <other@vm>\n"),
            (" a,\n\tb (comment)\n", " a@vm,\n\tb@vm (comment)\n"),
            // OpenSMTPD's quirk, kept: the comma splits the group, its last piece gets the domain.
            (" group: a, b;\n", " group: a, b;@vm\n"),
            (" \"x, y\" <z>\n", " \"x, y\" <z@vm>\n"),
            (" <>\n", " <>\n"),
            (" \n", " \n"),
            (" x@y.example\n", " x@y.example\n"),
        ])
    func domainAppend(_ value: String, _ expected: String) {
        let input = Array(value.utf8.dropLast())
        let output = HeaderAddressRewriter.appendDomain(to: input, domain: Array("vm".utf8))
        #expect(String(decoding: output, as: UTF8.self) == expected)
    }
}
