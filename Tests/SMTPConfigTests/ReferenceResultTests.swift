import Testing

@testable import SMTPConfig

/// The `smtpd -n` rows of the reference (§1.7), with what MailLab says. Rows that are old
/// grammar are syntax errors for OpenSMTPD 6.8 and parse here, on purpose (one model for
/// both grammars). Interfaces are not checked at parse time: that is the server's job.
@Suite struct ReferenceResultTests {
    @Test func seedOldConfigParses() throws {
        let config = try parse(
            "listen on bbb port 25\naccept from any for local deliver to maildir \"/tmp/maildir\"\n",
            file: "seed-old.conf")
        #expect(config.rules.count == 1)
        #expect(config.listeners[0].target == .interface("bbb"))
    }

    @Test func oldRelayAndRejectRowsParse() throws {
        let relay = try parse("listen on bbb port 25\naccept from any for domain \"x\" relay\n")
        #expect(relay.rules[0].conditions[1] == MatchCondition(.forDomain(.inline(.list(["x"])))))
        let reject = try parse("listen on bbb port 25\nreject from any for any\n")
        #expect(reject.rules[0].decision == .reject)
    }

    @Test func oldGlobalRowsParseButStillNeedARule() throws {
        #expect(
            errors("listen on bbb port 25\nlimit session max-rcpt 10\n", file: "f") == [
                "f:2: no rules, nothing to do"
            ])
        #expect(
            errors("listen on bbb port 25\nmax-message-size 10M\n", file: "f") == [
                "f:2: no rules, nothing to do"
            ])
        #expect(
            errors("listen on bbb port 25\nexpire 4d\n", file: "f") == [
                "f:2: no rules, nothing to do"
            ])
        #expect(
            errors("pki foo certificate \"/etc/ssl/x.crt\"\n", file: "f") == [
                "f:1: no rules, nothing to do"
            ])
        #expect(errors("listen on lo mask-source\n", file: "f") == ["f:1: no rules, nothing to do"])
        #expect(try parse("limit session max-rcpt 10" + anyRule).maxRecipients == 10)
    }

    @Test func undeclaredDispatcher() {
        #expect(
            errors("listen on bbb port 25\nmatch for local action \"nope\"\n", file: "FILE")
                == ["FILE:2: no such dispatcher: nope", "FILE:2: no rules, nothing to do"])
    }

    @Test func listenOnly() {
        #expect(
            errors("listen on bbb port 25\n", file: "FILE") == ["FILE:1: no rules, nothing to do"])
    }

    @Test func validNewConfig() throws {
        let config = try parse(
            """
            listen on lo port 2525
            action "local" maildir "/tmp/maildir"
            match from any for local action "local"
            """)
        #expect(config.rules.count == 1 && config.actions.count == 1 && config.listeners.count == 1)
    }
}
