import SMTPProtocol
import Testing

@Suite("Stored message content (§7.3, A.4)")
struct StoredMessageTests {
    static func deliver(_ stored: StoredCase) -> (Message, [SessionEvent]) {
        var configuration = referenceConfiguration()
        configuration.listenerIsLocal = stored.listenerIsLocal
        var driver = Driver(
            configuration: configuration, peer: stored.peer,
            environment: fixedEnvironment(now: stored.epoch))
        driver.start()
        driver.send(stored.client)
        let messages = driver.events.messages
        #expect(messages.count == 1)
        return (messages[0], driver.events)
    }

    @Test("file bytes: delivery headers + content", arguments: StoredMessages.all)
    func fileBytes(_ stored: StoredCase) throws {
        let (message, _) = Self.deliver(stored)
        let recipient = try #require(message.recipients.dropFirst(stored.recipientIndex).first)
        let file = message.deliveryHeaders(for: recipient) + message.content
        let text = String(decoding: file, as: UTF8.self)
        #expect(StoredCase.normalized(text) == StoredCase.normalized(stored.file))
        #expect(message.size == message.content.count)
        #expect(text.contains("id \(message.id)"))
    }

    @Test("7.2: logged size is the stored size (278 with root@localhost)")
    func loggedSize() {
        // Named like the original so the Received header has the recorded length.
        var configuration = referenceConfiguration()
        configuration.softwareName = "OpenSMTPD"
        var driver = Driver(configuration: configuration)
        driver.start()
        driver.send(
            "HELO defaultNS\r\nMAIL FROM: <abgelaescht@ausgebuefft>\r\nRCPT TO: <root@localhost>\r\n"
                + "DATA\r\nSubject: test\r\n\r\nfirst body line\r\nsecond body line\r\n.\r\n")
        let message = driver.events.messages.first
        #expect(message?.size == 278)
        let id = driver.session.id
        let msgid = message?.id ?? "?"
        #expect(
            driver.events.logs.contains(
                "\(id) smtp message msgid=\(msgid) size=278 nrcpt=1 proto=SMTP"))
        let envelope = driver.events.logs.first { $0.contains("smtp envelope") } ?? ""
        #expect(envelope.hasPrefix("\(id) smtp envelope evpid=\(msgid)"))
        #expect(envelope.hasSuffix(" from=<abgelaescht@ausgebuefft> to=<root@localhost>"))
    }

    @Test("7.4 row 5d: 2000- and 10000-byte body lines are stored unchanged")
    func longBodyLines() {
        let body = repeated("B", 2000) + "\r\n" + repeated("C", 10000) + "\r\n"
        let stored = StoredCase(
            name: "5d", epoch: fixedNow,
            client: "HELO x\r\nMAIL FROM:<a@b>\r\n"
                + "RCPT TO:<root@vm>\r\nDATA\r\nSubject: L\r\n\r\n" + body + ".\r\n", file: "")
        let (message, _) = Self.deliver(stored)
        let text = String(decoding: message.content, as: UTF8.self)
        #expect(
            text.hasSuffix(
                "Subject: L\nDate: Sun, 29 Nov 2026 04:01:51 +0000 (UTC)\n"
                    + "Message-ID: <\(text.split(separator: "<").last!.prefix(16))@vm>\n\n"
                    + repeated("B", 2000) + "\n" + repeated("C", 10000) + "\n"))
    }

    @Test("duplicate RCPT: one recipient, one file")
    func duplicateRecipient() {
        var driver = Driver()
        driver.start()
        driver.send(
            "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<osdrefuser@localhost>\r\n"
                + "RCPT TO:<osdrefuser@localhost>\r\nRCPT TO:<OSDREFUSER@LOCALHOST>\r\n"
                + "DATA\r\nSubject: d\r\n\r\nx\r\n.\r\n")
        let replies = driver.events.replies
        #expect(replies.filter { $0.hasPrefix("250 2.1.5") }.count == 3)
        let message = driver.events.messages.first
        #expect(message?.recipients.count == 1)
        let content = String(decoding: message?.content ?? [], as: UTF8.self)
        #expect(content.contains("\tfor <osdrefuser@localhost>;\n"))
    }
}
