import Testing

@testable import SMTPProtocol

private let mail = "EHLO x\r\nMAIL FROM:<a@b> RET=HDRS ENVID=QQ+2Bx\r\n"

private func run(_ text: String, dsn: Bool = true) -> [SessionEvent] {
    var configuration = referenceConfiguration()
    configuration.dsn = dsn
    var driver = Driver(configuration: configuration)
    driver.start()
    return driver.send(text)
}

@Suite("DSN parameters (RFC 3461) kept with the envelope")
struct DSNSessionTests {
    @Test("RET, ENVID, NOTIFY and ORCPT reach the delivered message, per recipient")
    func kept() throws {
        let events = run(
            mail + "RCPT TO:<root@vm> NOTIFY=SUCCESS,delay ORCPT=rfc822;root+2Bx@vm.example\r\n"
                + "RCPT TO:<osdrefuser@localhost>\r\nRCPT TO:<root@localhost> NOTIFY=NEVER\r\n"
                + "DATA\r\nx: y\r\n\r\nz\r\n.\r\n")
        let message = try #require(events.messages.first)
        #expect(message.dsn == DSNRequest(ret: .headers, envelopeID: "QQ+2Bx"))
        #expect(message.dsn.decodedEnvelopeID == "QQ+x")
        let dsns = message.recipients.map(\.dsn)
        #expect(dsns.count == 3)
        #expect(dsns.first?.notify == [.success, .delay])
        #expect(dsns.first?.originalRecipientType == "rfc822")
        #expect(dsns.first?.originalRecipientAddress == "root+x@vm.example")
        #expect(dsns.dropFirst().first == RecipientDSN())
        #expect(dsns.last?.notify == [.never])
    }

    @Test("RET other than HDRS/FULL is ignored, as OpenSMTPD; the last RET wins")
    func retValues() {
        let full = run(
            "EHLO x\r\nMAIL FROM:<a@b> RET=hdrs RET=Full\r\nRCPT TO:<root@vm>\r\nDATA\r\nx: y\r\n\r\n.\r\n"
        )
        #expect(full.messages.first?.dsn.ret == .full)
        let other = run(
            "EHLO x\r\nMAIL FROM:<a@b> RET=NONE\r\nRCPT TO:<root@vm>\r\nDATA\r\nx: y\r\n\r\n.\r\n")
        #expect(other.messages.first?.dsn.ret == nil)
    }

    @Test("no-dsn: DSN not advertised, its parameters unsupported options (OpenSMTPD)")
    func switchedOff() {
        #expect(run("EHLO x\r\n").replies.contains("250-DSN"))
        #expect(!run("EHLO x\r\n", dsn: false).replies.contains("250-DSN"))
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@b> RET=HDRS\r\n", dsn: false).replies.last
                == "503 5.5.4 Invalid command arguments: Unsupported option RET=HDRS")
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@b> ENVID=x\r\n", dsn: false).replies.last
                == "503 5.5.4 Invalid command arguments: Unsupported option ENVID=x")
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm> NOTIFY=NEVER\r\n", dsn: false)
                .replies.last == "503 Unsupported option NOTIFY=NEVER")
        #expect(
            run("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm> ORCPT=rfc822;a@b\r\n", dsn: false)
                .replies.last == "503 Unsupported option ORCPT=rfc822;a@b")
    }

    @Test("xtext: +HH decoded, a malformed escape or a raw = is no xtext")
    func xtext() {
        #expect(XText.decode("a+2Bb+3Dc") == "a+b=c")
        #expect(XText.decode("plain") == "plain")
        for bad in ["a+2", "a+2b", "a+G0", "a=b", "a b", "a+FF"] {
            #expect(XText.decode(bad) == nil, "\(bad)")
        }
    }
}
