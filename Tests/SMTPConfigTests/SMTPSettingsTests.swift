import Testing

@testable import SMTPConfig

/// MailLab's `smtp timeout …` and `smtp limit max-sessions…` settings.
@Suite struct SMTPSettingsTests {
    @Test func timeoutsHaveTheRFCDefaults() throws {
        let configuration = try parse("listen on lo" + anyRule)
        #expect(configuration.timeouts == SMTPTimeouts())
        #expect(
            [
                configuration.timeouts.command, configuration.timeouts.data,
                configuration.timeouts.session,
            ]
                == [300, 600, 3600])
        #expect(configuration.maxSessions == nil)
        #expect(configuration.maxSessionsPerAddress == nil)
    }

    @Test func timeoutsTakeOpenSMTPDDurations() throws {
        let configuration = try parse(
            """
            smtp timeout command 30s
            smtp timeout data 5m
            smtp timeout session 2h
            """ + anyRule)
        #expect(configuration.timeouts.command == 30)
        #expect(configuration.timeouts.data == 300)
        #expect(configuration.timeouts.session == 7200)
    }

    @Test func connectionLimitsAreRead() throws {
        let configuration = try parse(
            "smtp limit max-sessions 100 max-sessions-per-address 5 max-rcpt 7" + anyRule)
        #expect(configuration.maxSessions == 100)
        #expect(configuration.maxSessionsPerAddress == 5)
        #expect(configuration.maxRecipients == 7)
    }

    @Test func badSettingsNameTheLine() {
        #expect(
            errors("\nsmtp timeout command 30" + anyRule) == [
                "smtpd.conf:2: invalid command timeout: 30 (expected a number followed by s, m, h or d)"
            ])
        #expect(
            errors("smtp timeout idle 30s" + anyRule) == [
                "smtpd.conf:1: syntax error: unexpected \"idle\" after \"smtp timeout\", expected command, data or session"
            ])
        #expect(
            errors("smtp limit max-sessions-per-address 0" + anyRule) == [
                "smtpd.conf:1: invalid max-sessions-per-address: 0 (must be at least 1)"
            ])
        // Only `smtp limit` knows the connection limits; the old `limit session` does not.
        #expect(
            errors("limit session max-sessions 3" + anyRule) == [
                "smtpd.conf:1: invalid session limit keyword: max-sessions (expected max-rcpt or max-mails)"
            ])
    }
}
