import Testing

@testable import SMTPConfig

/// Relay actions of both grammars end in one model (`RelayOptions.url`), and a bad URL or
/// queue setting is a `FILE:LINE` error.
@Suite struct RelayActionTests {
    @Test(arguments: [
        ("smtp://mx.example.org", RelayURL(scheme: .smtp, host: "mx.example.org", port: 25)),
        ("mx.example.org", RelayURL(scheme: .smtp, host: "mx.example.org", port: 25)),
        ("smtp+tls://10.0.0.2:587", RelayURL(scheme: .smtpTLS, host: "10.0.0.2", port: 587)),
        ("smtp+notls://relay", RelayURL(scheme: .smtpNoTLS, host: "relay", port: 25)),
        ("smtps://relay", RelayURL(scheme: .smtps, host: "relay", port: 465)),
        (
            "smtp+tls://label@[fd00::2]:2525",
            RelayURL(scheme: .smtpTLS, authLabel: "label", host: "fd00::2", port: 2525)
        ),
    ])
    func relayURLsParseIntoSchemeHostAndPort(text: String, expected: RelayURL) throws {
        #expect(try RelayURL(parsing: text) == expected)
    }

    @Test func canonicalFormLeavesOutTheDefaultPort() throws {
        #expect(try RelayURL(parsing: "relay").description == "smtp://relay")
        #expect(try RelayURL(parsing: "smtps://a@[::1]:26").description == "smtps://a@[::1]:26")
    }

    @Test func bothGrammarsGiveTheSameModel() throws {
        let config = try parse(
            """
            action "new" relay host "smtp+tls://10.1.0.2:2525" helo relay.lab
            accept for domain "old.lab" relay via "smtp+tls://10.1.0.2:2525" hostname relay.lab
            action "mx" relay
            match for domain "new.lab" action "new"
            match for domain "mx.lab" action "mx"
            """)
        let new = try #require(config.action(named: "new")?.method.relayOptions)
        let old = try #require(config.actions.first { $0.name != "new" && $0.name != "mx" })
        let oldOptions = try #require(old.method.relayOptions)
        #expect(new.url == RelayURL(scheme: .smtpTLS, host: "10.1.0.2", port: 2525))
        #expect(oldOptions.url == new.url)
        #expect(oldOptions.helo == new.helo)
        #expect(config.action(named: "mx")?.method.relayOptions?.url == nil)
    }

    @Test(arguments: [
        (
            "action a relay host \"ftp://x\"",
            "smtpd.conf:1: invalid relay URL \"ftp://x\": unknown scheme \"ftp://\" (expected smtp://, smtp+tls://, smtp+notls://, smtps://)"
        ),
        (
            "action a relay host \"smtp://x:0\"",
            "smtpd.conf:1: invalid relay URL \"smtp://x:0\": invalid port \"0\" (expected 1-65535)"
        ),
        (
            "action a relay host \"smtp://x:99999\"",
            "smtpd.conf:1: invalid relay URL \"smtp://x:99999\": invalid port \"99999\" (expected 1-65535)"
        ),
        (
            "action a relay host \"lmtp://x:24\"",
            "smtpd.conf:1: invalid relay URL \"lmtp://x:24\": lmtp:// relays are not supported by MailLab"
        ),
        (
            "action a relay host \"smtp://[fd00::1\"",
            "smtpd.conf:1: invalid relay URL \"smtp://[fd00::1\": missing \"]\" after the IPv6 address"
        ),
        (
            "action a relay host \"smtp://\"",
            "smtpd.conf:1: invalid relay URL \"smtp://\": no host"
        ),
        (
            "accept for any relay via \"smtp://a b\"",
            "smtpd.conf:1: invalid relay URL \"smtp://a b\": invalid host \"a b\""
        ),
        (
            "queue retry 10m 1m",
            "smtpd.conf:1: queue retry: the maximum must be at least the first delay"
        ),
        (
            "queue directory \"\"",
            "smtpd.conf:1: invalid queue directory: "
        ),
    ])
    func badRelaySettingsAreLocatedErrors(line: String, expected: String) {
        #expect(errors(line + anyRule) == [expected])
    }

    @Test func queueSettingsOfMailLab() throws {
        let config = try parse(
            "queue directory \"/run/q\"\nqueue retry 2s 30s\nqueue ttl 1h" + anyRule)
        #expect(config.queue.directory == "/run/q")
        #expect(config.queue.retryMin == 2)
        #expect(config.queue.retryMax == 30)
        #expect(config.queue.ttl == 3_600)
        let defaults = try parse("queue ttl 2d" + anyRule).queue
        #expect(defaults.directory == nil)
        #expect(defaults.retryMin == 60 && defaults.retryMax == 3_600)
    }
}
