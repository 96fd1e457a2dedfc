import MailLabTestSupport
import SMTPProtocol
import Testing

@Suite("Trace and log lines (§2, §7.2)")
struct TraceAndLogTests {
    /// §7.2 `-T smtp` output, verbatim except: `0xPTR` stands for the session pointer,
    /// `ID` for the session id, `MSGID`/`EVPID` for the run's ids; the listener line and the
    /// later mda/bounce lines belong to the server, not to the session.
    static let expected72 = """
        smtp: 0xPTR: STATE_NEW -> STATE_CONNECTED
        ID smtp connected address=127.0.0.1 host=localhost
        smtp: 0xPTR: >>> 220 vm ESMTP OpenSMTPD
        smtp: 0xPTR: <<< HELO defaultNS
        smtp: 0xPTR: STATE_CONNECTED -> STATE_HELO
        smtp: 0xPTR: >>> 250 vm Hello defaultNS [127.0.0.1], pleased to meet you
        smtp: 0xPTR: <<< MAIL FROM: abgelaescht@ausgebuefft
        smtp: 0xPTR: >>> 553 5.1.0 Sender address syntax error
        ID smtp failed-command command="MAIL FROM: abgelaescht@ausgebuefft" result="553 5.1.0 Sender address syntax error"
        smtp: 0xPTR: <<< MAIL FROM: <abgelaescht@ausgebuefft>
        smtp: 0xPTR: >>> 250 2.0.0 Ok
        smtp: 0xPTR: <<< RCPT TO: <root@localhost>
        smtp: 0xPTR: >>> 250 2.1.5 Destination address valid: Recipient ok
        smtp: 0xPTR: <<< DATA
        smtp: 0xPTR: >>> 354 Enter mail, end with "." on a line by itself
        smtp: 0xPTR: STATE_HELO -> STATE_BODY
        <<< [MSG] Subject: test
        <<< [MSG] 
        <<< [MSG] first body line
        <<< [MSG] second body line
        <<< [MSG] .
        <<< [EOM]
        smtp: 0xPTR: >>> 250 2.0.0 MSGID Message accepted for delivery
        ID smtp message msgid=MSGID size=278 nrcpt=1 proto=SMTP
        ID smtp envelope evpid=EVPID from=<abgelaescht@ausgebuefft> to=<root@localhost>
        smtp: 0xPTR: STATE_BODY -> STATE_HELO
        smtp: 0xPTR: <<< QUIT
        smtp: 0xPTR: >>> 221 2.0.0 Bye
        smtp: 0xPTR: STATE_HELO -> STATE_QUIT
        ID smtp disconnected reason=quit
        """

    @Test("§7.2 dialogue gives the recorded trace and log lines in the recorded order")
    func dialogue72() throws {
        var configuration = referenceConfiguration()
        configuration.softwareName = "OpenSMTPD"
        var driver = Driver(configuration: configuration)
        driver.start()
        let dialogue = try OpenSMTPDTranscripts.named(
            "required-dialogue", advertisingPipelining: false)
        for step in dialogue.steps {
            if let bytes = step.send { driver.send(bytes) }
        }
        let id = driver.session.id
        let message = try #require(driver.events.messages.first)
        let envelope = try #require(
            driver.events.logs.first { $0.contains("evpid=") }?.split(separator: " ")
                .first { $0.hasPrefix("evpid=") }?.dropFirst(6))
        #expect(envelope.count == 16 && envelope.hasPrefix(message.id))
        let pointer = "0x" + id.suffix(12)
        let lines = driver.events.compactMap { event -> String? in
            switch event {
            case .trace(let line), .log(let line): return line
            default: return nil
            }
        }.map {
            $0.replacing(pointer, with: "0xPTR").replacing(id, with: "ID")
                .replacing(String(envelope), with: "EVPID").replacing(message.id, with: "MSGID")
        }
        #expect(
            lines
                == Self.expected72.split(separator: "\n", omittingEmptySubsequences: false).map(
                    String.init))
    }

    @Test("no trace events unless enabled")
    func traceDisabled() {
        var configuration = referenceConfiguration()
        configuration.traceEnabled = false
        var driver = Driver(configuration: configuration)
        driver.start()
        driver.send("HELO x\r\nQUIT\r\n")
        #expect(driver.events.traces.isEmpty)
        #expect(driver.events.logs.count == 2)
    }

    @Test("framing errors are logged as bad-input")
    func badInput() {
        var driver = Driver()
        driver.start()
        driver.send(repeated("X", 2048) + "\r\n")
        #expect(
            driver.events.logs.contains(
                "\(driver.session.id) smtp bad-input result=\"500 5.0.0 Command line too long\""))
        #expect(driver.events.logs.last == "\(driver.session.id) smtp disconnected reason=quit")
    }

    @Test("client text in log lines is escaped (no line injection)")
    func escapedLog() {
        var driver = Driver()
        driver.start()
        driver.send("FOO \"a\u{1}b\\c\u{FC}\r\n")
        let line = driver.events.logs.last ?? ""
        #expect(
            line.hasSuffix(
                "failed-command command=\"FOO \"a\\001b\\\\c\\303\\274\" result=\"500 5.5.1 Invalid command: Command unrecognized\""
            ))
    }
}
