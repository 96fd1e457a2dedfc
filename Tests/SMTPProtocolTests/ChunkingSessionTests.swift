import Testing

@testable import SMTPProtocol

private let notAllowed = "503 5.5.1 Invalid command: Command not allowed at this point."
private let open = "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\n"

private func chunkingConfiguration(maxSize: Int? = nil) -> SessionConfiguration {
    var configuration = referenceConfiguration()
    configuration.chunking = true
    // No Date:/Message-ID: added: the stored body is then exactly what was sent.
    configuration.listenerIsLocal = false
    if let maxSize { configuration.limits.maxMessageSize = maxSize }
    return configuration
}

/// Feeds `bytes` in chunks of the given sizes, answering deliveries at once.
private func run(_ bytes: [UInt8], chunks: [Int] = [Int.max], maxSize: Int? = nil)
    -> [SessionEvent]
{
    var driver = Driver(configuration: chunkingConfiguration(maxSize: maxSize))
    driver.start()
    driver.send(bytes, inChunks: chunks)
    return driver.events
}

private func run(_ text: String, maxSize: Int? = nil) -> [SessionEvent] {
    run(Array(text.utf8), maxSize: maxSize)
}

/// The stored content after the `Received:` header (its 4 lines).
private func body(_ message: Message?) -> String {
    let text = String(decoding: message?.content ?? [], as: UTF8.self)
    return text.split(separator: "\n", maxSplits: 4, omittingEmptySubsequences: false)
        .dropFirst(4).joined(separator: "\n")
}

@Suite("CHUNKING and BINARYMIME in the session (RFC 3030)")
struct ChunkingSessionTests {
    @Test("EHLO advertises CHUNKING and BINARYMIME; switched off BDAT is unrecognized")
    func advertised() {
        #expect(
            run("EHLO x\r\n").replies.suffix(3) == ["250-CHUNKING", "250-BINARYMIME", "250 HELP"])
        var off = Driver()
        off.start()
        #expect(!off.send("EHLO x\r\n").replies.contains("250-CHUNKING"))
        #expect(
            off.send("BDAT 3 LAST\r\n").replies == [
                "500 5.5.1 Invalid command: Command unrecognized"
            ])
    }

    @Test("one BDAT LAST: stored as sent (LF line ends, nothing unstuffed, dots are data)")
    func singleChunk() {
        let content = "Subject: c\r\n\r\n..x\r\n.\r\nend"
        let events = run(open + "BDAT \(content.utf8.count) LAST\r\n" + content)
        #expect(events.messages.count == 1)
        #expect(body(events.messages.first) == "Subject: c\n\n..x\n.\nend\n")
        #expect(events.replies.last?.hasSuffix("Message accepted for delivery") == true)
    }

    @Test("the 250 to LAST waits for the delivery (durability), then pipelined commands run")
    func lastWaitsForDelivery() {
        var driver = Driver(configuration: chunkingConfiguration())
        driver.start()
        driver.send(open)
        let events = driver.session.receive(Array("BDAT 6 LAST\r\n\r\nhi\r\nNOOP\r\n".utf8))
        #expect(events.messages.count == 1)
        #expect(events.replies.isEmpty)
        #expect(!driver.session.wantsInput)
        let after = driver.session.deliveryFinished(.delivered)
        #expect(after.replies.count == 2)
        #expect(after.replies.first?.hasSuffix("Message accepted for delivery") == true)
        #expect(after.replies.last == "250 2.0.0 Ok")
    }

    @Test("pipelined chunks: each gets its 250, a line may span chunks, BDAT 0 LAST ends")
    func severalChunks() {
        let events = run(open + "BDAT 14\r\nSubject: a\r\n\r\nBDAT 6\r\nhel" + "lo BDAT 0 LAST\r\n")
        #expect(
            events.replies.filter { $0.contains("octets received") } == [
                "250 2.0.0 Ok: 14 octets received", "250 2.0.0 Ok: 6 octets received",
            ], "\(events.replies)")
        #expect(body(events.messages.first) == "Subject: a\n\nhello \n")
    }

    @Test("sequencing: DATA after BDAT, DATA after BODY=BINARYMIME, BDAT without MAIL or RCPT")
    func sequencing() {
        let afterBdat = run(open + "BDAT 2\r\nab" + "DATA\r\n")
        #expect(afterBdat.replies.last == "503 5.5.1 Invalid command: DATA not allowed after BDAT")
        let binary = run(
            "EHLO x\r\nMAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<root@vm>\r\nDATA\r\n")
        #expect(binary.replies.last == "503 5.5.1 Invalid command: BODY=BINARYMIME needs BDAT")
        let binary8 = Array("x: y\r\n\r\n".utf8) + [0x00, 0x01, 0xFF, 0x0D]
        let binaryOK = run(
            Array(
                "EHLO x\r\nMAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<root@vm>\r\nBDAT \(binary8.count) LAST\r\n"
                    .utf8) + binary8)
        #expect(binaryOK.messages.count == 1, "\(binaryOK.replies)")
        #expect(
            binaryOK.messages.first?.content.suffix(5)
                == [0x0A, 0x00, 0x01, 0xFF, 0x0D, 0x0A].suffix(5))
        // A refused BDAT's bytes are read, never run as commands.
        let noMail = run("EHLO x\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n")
        #expect(noMail.replies.suffix(2) == [notAllowed, "250 2.0.0 Ok"])
        #expect(noMail.closes == 0)
        let noRcpt = run("EHLO x\r\nMAIL FROM:<a@b>\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n")
        #expect(
            noRcpt.replies.suffix(2) == [
                "503 5.5.4 Invalid command arguments: No recipient specified", "250 2.0.0 Ok",
            ])
    }

    @Test("RSET between chunks drops the message; a new transaction starts clean")
    func rsetBetweenChunks() {
        let events = run(
            open
                + "BDAT 3\r\nabcRSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\nx: y\r\n\r\nz\r\n.\r\n"
        )
        #expect(events.messages.count == 1, "\(events.replies)")
        #expect(body(events.messages.first) == "x: y\n\nz\n")
    }

    @Test("the size limit counts every chunk: 554 5.3.4 after LAST, nothing delivered")
    func sizeAcrossChunks() {
        let sixty = "x: " + String(repeating: "a", count: 53) + "\r\n\r\n"
        let events = run(
            open + "BDAT 60\r\n" + sixty + "BDAT 60 LAST\r\n" + sixty + "NOOP\r\n", maxSize: 100
        )
        #expect(events.messages.isEmpty)
        #expect(
            events.replies.suffix(2) == [
                "554 5.3.4 Message too big for system: Transaction failed, message too big",
                "250 2.0.0 Ok",
            ])
        #expect(run(open + "BDAT 60 LAST\r\n" + sixty, maxSize: 100).messages.count == 1)
    }

    @Test(
        "a size that cannot be read: 501 and the close",
        arguments: [
            "BDAT\r\n", "BDAT x\r\n", "BDAT -1\r\n", "BDAT 1 LAST x\r\n", "BDAT 1 FIRST\r\n",
            "BDAT 9999999999999999999\r\n",
        ])
    func badSize(_ line: String) {
        let events = run(open + line + "NOOP\r\n")
        #expect(
            events.replies.last
                == "501 5.5.4 Invalid command arguments: BDAT needs a size and optionally LAST")
        #expect(events.closes == 1)
    }

    @Test("fed whole, byte by byte and at random splits: the same events")
    func splits() {
        let bytes = Array(
            (open + "BDAT 14\r\nSubject: a\r\n\r\nBDAT 10\r\nhe\r\n.\r\nlo BDAT 0 LAST\r\nRSET\r\n"
                + "BDAT 4 LAST\r\nQUIT" + "MAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<root@vm>\r\n"
                + "DATA\r\nBDAT 8 LAST\r\nx: y\r\n\r\n" + "QUIT\r\n").utf8)
        let whole = run(bytes)
        #expect(whole.messages.count == 2, "\(whole.replies)")
        #expect(whole.closes == 1)
        #expect(run(bytes, chunks: [1]) == whole)
        let random = SplitMix(seed: 21)
        for _ in 0..<60 {
            let sizes = (0..<9).map { _ in Int(random.next() % 19) + 1 }
            #expect(run(bytes, chunks: sizes) == whole)
        }
    }
}
