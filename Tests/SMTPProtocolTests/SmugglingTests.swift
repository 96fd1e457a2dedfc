import SMTPProtocol
import Testing

@Suite("Line endings and smuggling (hostile-input §3.1)")
struct SmugglingTests {
    @Test(
        "strict session: one message, smuggled transaction stays data",
        arguments: SmugglingProbes.endings)
    func probe(_ probe: SmugglingProbe) {
        for chunk in [Int.max, 1] {
            var driver = Driver()
            driver.start()
            let bytes = Array(SmugglingProbes.probe(probe.ending).utf8)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + min(chunk, bytes.count))
                driver.send(Array(bytes[offset..<end]))
                offset = end
            }
            let messages = driver.events.messages
            #expect(messages.count == 1, "chunk \(chunk)")
            #expect(messages.first?.sender.description == "abgelaescht@ausgebuefft")
            let content = String(decoding: messages.first?.content ?? [], as: UTF8.self)
            #expect(content.contains("MAIL FROM:<smuggled@ausgebuefft>\n"))
            // 250 EHLO lines, MAIL, RCPT, 354, one message accepted: no second "250 2.0.0 Ok".
            #expect(driver.events.replies.filter { $0 == "250 2.0.0 Ok" }.count == 1)
            #expect(driver.events.replies.last?.hasSuffix("Message accepted for delivery") == true)
        }
    }

    @Test("CR runs are not folded: \\r\\n.\\r\\r\\n leaves the line \".\\r\" as data")
    func crRunsStayData() {
        var driver = Driver()
        driver.start()
        driver.send(SmugglingProbes.probe("\r\n.\r\r\n"))
        let content = driver.events.messages.first?.content ?? []
        // ".\r" is unstuffed to "\r": a line holding one CR.
        #expect(String(decoding: content, as: UTF8.self).contains("line before fake end\n\r\n"))
    }

    @Test("pipelined RSET after the real end is answered after the message")
    func pipelinedAfterEnd() {
        var driver = Driver()
        driver.start()
        let events = driver.send(
            "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\n"
                + "RSET\r\n")
        #expect(
            events.replies.suffix(2).map(normalized) == [
                "250 2.0.0 MSGID Message accepted for delivery", "250 2.0.0 Reset state",
            ])
    }

    @Test("input after the dot waits for the delivery answer")
    func waitsForDelivery() {
        var session = SMTPSession(
            configuration: referenceConfiguration(), peer: localPeer, policy: FakePolicy(),
            environment: fixedEnvironment())
        _ = session.start()
        let first = session.receive(
            Array(
                ("HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\n\r\nx\r\n.\r\n"
                    + "MAIL FROM:<c@d>\r\n").utf8))
        #expect(first.messages.count == 1)
        // HELO, MAIL, RCPT, 354: the pipelined MAIL is not answered yet.
        #expect(first.replies.count == 4)
        #expect(first.replies.last == "354 Enter mail, end with \".\" on a line by itself")
        #expect(!session.wantsInput)
        #expect(session.receive(Array("NOOP\r\n".utf8)).isEmpty)
        let after = session.deliveryFinished(.delivered)
        #expect(
            after.replies.map(normalized) == [
                "250 2.0.0 MSGID Message accepted for delivery", "250 2.0.0 Ok", "250 2.0.0 Ok",
            ])
        #expect(session.wantsInput)
    }

    @Test("strict session: a command ending in bare LF is refused, the session stays open")
    func bareLFCommand() {
        var driver = Driver()
        driver.start()
        let events = driver.send("EHLO x\r\nNOOP\nNOOP\r\n")
        #expect(
            events.replies.suffix(2) == [
                "500 5.5.2 Syntax error: bare <LF> received", "250 2.0.0 Ok",
            ])
        #expect(events.closes == 0)
    }

    @Test("lenient session (first line bare LF): LF . LF ends DATA")
    func lenient() {
        var driver = Driver()
        driver.start()
        driver.send("HELO x\nMAIL FROM:<a@b>\nRCPT TO:<root@vm>\r\nDATA\n\nbody\n.\n")
        #expect(driver.events.messages.count == 1)
    }

    @Test("bare CR inside a command is not a line end")
    func bareCRInCommand() {
        var driver = Driver()
        driver.start()
        let events = driver.send("EHLO x\rQUIT\r\n")
        #expect(events.replies.last == "501 5.5.4 Invalid command arguments: Invalid domain name")
        #expect(events.closes == 0)
    }
}
