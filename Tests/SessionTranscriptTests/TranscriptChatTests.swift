import SessionTranscript
import Testing

@Suite struct TranscriptChatTests {
    private func script(_ body: String) throws -> String {
        let text =
            "# MailLab session transcript 1\n@ session abc\n@ listener 127.0.0.1:2525\n" + body
        return try TranscriptChat.script(
            from: try TranscriptCodec.parse(Array(text.utf8)), name: "t.transcript")
    }

    @Test func aSessionBecomesSendsAndExpectationsWithVolatileWordsAsStars() throws {
        let chat = try script(
            """
            0.000000 S "220 vm ESMTP MailLab\\r\\n"
            0.000100 C "EHLO client\\r\\n"
            0.000200 S "250-vm Hello client [127.0.0.1], pleased to meet you\\r\\n250-8BITMIME\\r\\n250 HELP\\r\\n"
            0.000300 C "MAIL FROM:<a@b.example>\\r\\nRCPT TO:<c@d.example>\\r\\n"
            0.000400 S "250 2.0.0 Ok\\r\\n"
            0.000400 S "250 2.1.5 Destination address valid: Recipient ok\\r\\n"
            0.000500 C "DATA\\r\\n"
            0.000600 S "354 Enter mail, end with \\".\\" on a line by itself\\r\\n"
            0.000700 C "Subject: [x] *?\\r\\n\\r\\nbare\\nend\\r\\n.\\r\\n"
            0.000800 S "250 2.0.0 0e8b99cd Message accepted for delivery\\r\\n"
            0.000900 C "QUIT\\r\\n"
            0.001000 S "221 2.0.0 Bye\\r\\n"
            0.001100 * close server

            """)
        #expect(
            chat == """
                # replay of transcript t.transcript
                # session abc
                connect 127.0.0.1 2525
                expect 220 vm ESMTP MailLab
                send EHLO client
                # S: 250-vm Hello client [127.0.0.1], pleased to meet you
                # S: 250-8BITMIME
                expect 250 HELP
                send MAIL FROM:<a@b.example>
                send RCPT TO:<c@d.example>
                expect 250 2.0.0 Ok
                expect 250 2.1.5 Destination address valid: Recipient ok
                send DATA
                expect 354 Enter mail, end with "." on a line by itself
                send Subject: [x] *?
                send-raw "\\r\\n"
                send-raw "bare\\n"
                send end
                send .
                expect 250 2.0.0 * Message accepted for delivery
                send QUIT
                expect 221 2.0.0 Bye
                expect close

                """)
    }

    @Test func aSlowReplyGetsATimeoutThatLeavesItRoom() throws {
        let chat = try script(
            """
            8.000000 S "220 vm ESMTP MailLab\\r\\n"
            8.100000 C "QUIT\\r\\n"
            8.200000 S "221 2.0.0 Bye\\r\\n"

            """)
        #expect(chat.contains("timeout 21\nexpect 220 vm ESMTP MailLab\n"))
    }

    @Test func aClientCloseAndAPartialLineAreReplayedAsSent() throws {
        let chat = try script(
            """
            0.000000 S "220 vm ESMTP MailLab\\r\\n"
            0.000100 C "NOOP"
            0.000200 * close client

            """)
        #expect(chat.hasSuffix("expect 220 vm ESMTP MailLab\nsend-raw \"NOOP\"\nclose\n"))
    }

    @Test func aTranscriptWithTLSIsRefusedAtTheBoundary() {
        #expect {
            _ = try script(
                """
                0.000000 S "220 vm ESMTP MailLab\\r\\n"
                0.000100 C "STARTTLS\\r\\n"
                0.000200 S "220 2.0.0 Ready to start TLS\\r\\n"
                0.000300 * tls TLSv1.3 TLS_AES_256_GCM_SHA384 256

                """)
        } throws: { error in
            (error as? TranscriptChatError)?.line == 7
                && (error as? TranscriptChatError)?.message.contains("STARTTLS") == true
        }
    }

    @Test func serverBytesThatAreNoReplyAreRefused() {
        #expect(throws: TranscriptChatError.self) {
            _ = try script("0.000000 S \"hello there\\r\\n\"\n")
        }
    }

    @Test func aTruncatedTranscriptEndsTheScriptWithAClose() throws {
        let chat = try script(
            """
            0.000000 S "220 vm ESMTP MailLab\\r\\n"
            0.000100 * truncated
            0.000200 C "never\\r\\n"

            """)
        #expect(chat.hasSuffix("# the transcript was cut at its size limit here\nclose\n"))
        #expect(!chat.contains("never"))
    }
}
