import SMTPClient
import Testing

@Suite struct ReportTests {
    let passed = ChatOutcome(script: "a.chat", failure: nil, transcript: ["C: QUIT", "S: 221 Bye"])
    let failed = ChatOutcome(
        script: "b.chat",
        failure: ChatFailure(
            file: "b.chat", line: 7, expected: "250", got: "550 it's <bad> & \u{1}"),
        transcript: ["S: 550 it's <bad>"])

    @Test func tapHasPlanResultsAndYamlBlock() {
        let tap = ChatReport.tap([passed, failed])
        #expect(
            tap == """
                TAP version 13
                1..2
                ok 1 - a.chat
                not ok 2 - b.chat
                  ---
                  message: 'b.chat:7: expected 250, got 550 it''s <bad> & \u{1}'
                  at: 'b.chat:7'
                  expected: '250'
                  got: '550 it''s <bad> & \u{1}'
                  ...
                # S: 550 it's <bad>

                """)
    }

    @Test func junitEscapesAndCountsFailures() {
        let xml = ChatReport.junit([passed, failed])
        #expect(
            xml.contains("<testsuite name=\"mlab chat\" tests=\"2\" failures=\"1\" errors=\"0\">"))
        #expect(xml.contains("<testcase classname=\"chat\" name=\"a.chat\">"))
        #expect(
            xml.contains(
                "<failure message=\"b.chat:7: expected 250, got 550 it&apos;s &lt;bad&gt; &amp; \\x01\">S: 550 it&apos;s &lt;bad&gt;</failure>"
            ))
        #expect(!xml.contains("\u{1}"))
        #expect(xml.hasSuffix("</testsuite>\n"))
    }

    @Test func swaksTranscriptMarksErrors() {
        #expect(TranscriptFormat.swaks(.sent("QUIT")) == " -> QUIT")
        #expect(TranscriptFormat.swaks(.received("250 Ok")) == "<-  250 Ok")
        #expect(TranscriptFormat.swaks(.received("550 No")) == "<** 550 No")
        #expect(TranscriptFormat.chat(.received("250 Ok")) == "S: 250 Ok")
        #expect(TranscriptFormat.chat(.sent("HELO x")) == "C: HELO x")
    }

    @Test func composedMessageHasSwaksHeadersAndBody() {
        let message = MessageComposer.compose(
            from: "a@b.example", to: ["c@d.example", "e@f.example"], subject: "hi",
            body: "line 1\r\nline 2\n", date: "Sun, 29 Nov 2026 05:00:00 +0000",
            messageID: "20261129050000.000001@host")
        #expect(
            message == """
                Date: Sun, 29 Nov 2026 05:00:00 +0000
                To: c@d.example, e@f.example
                From: a@b.example
                Subject: hi
                Message-Id: <20261129050000.000001@host>
                X-Mailer: mlab send (MailLab)

                line 1
                line 2

                """)
        #expect(MessageComposer.messageID(host: "h", time: 0).hasSuffix("@h"))
        #expect(MessageComposer.date(0).count >= 30)
    }

    @Test func relayAddsCROnlyWhereMissing() {
        #expect(Relay.addingCR(Array("a\nb\r\nc\n".utf8)) == Array("a\r\nb\r\nc\r\n".utf8))
        // A CR at the end of the previous chunk counts.
        #expect(Relay.addingCR(Array("\nx".utf8), previous: 13) == Array("\nx".utf8))
    }
}
