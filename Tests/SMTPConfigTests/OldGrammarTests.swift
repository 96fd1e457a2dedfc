import Testing

@testable import SMTPConfig

@Suite struct OldGrammarTests {
    @Test func courseConfig() throws {
        let config = try parse(
            """
            listen on bbb port 25
            accept from any for local deliver to maildir "/tmp/maildir"
            """)
        #expect(config.listeners.map(\.target) == [.interface("bbb")])
        #expect(config.actions.count == 1)
        let action = config.actions[0]
        #expect(action.name == "accept-line-2")
        #expect(action.method == .maildir(path: "/tmp/maildir", junk: false))
        #expect(action.location == SourceLocation(file: "smtpd.conf", line: 2))
        #expect(config.rules.count == 1)
        #expect(config.rules[0].conditions == fromAnyForLocal)
        #expect(config.rules[0].decision == .action("accept-line-2"))
    }

    @Test func sameModelAsNewSyntax() throws {
        let old = try parse("accept from any for local deliver to maildir \"/tmp/maildir\"")
        let new = try parse(
            "action \"x\" maildir \"/tmp/maildir\"\nmatch from any for local action \"x\"")
        #expect(old.actions.map(\.method) == new.actions.map(\.method))
        #expect(old.rules.map(\.conditions) == new.rules.map(\.conditions))
    }

    @Test func defaultsAreFromLocalForLocal() throws {
        let config = try parse("accept deliver to mbox\nreject")
        #expect(
            config.rules[0].conditions == [MatchCondition(.fromLocal), MatchCondition(.forLocal)])
        #expect(
            config.rules[1].conditions == [MatchCondition(.fromLocal), MatchCondition(.forLocal)])
        #expect(config.rules[1].decision == .reject)
        #expect(config.actions.map(\.method) == [.mbox])
    }

    @Test func maildirWithoutPathIsHomeMaildir() throws {
        let config = try parse("accept for local deliver to maildir")
        #expect(config.actions[0].method == .maildir(path: nil, junk: false))
    }

    @Test func negationFollowsTheKeyword() throws {
        let config = try parse(
            """
            table nets { 10.0.0.0/8 }
            table bad { "a@b.c" }
            reject from ! local for ! domain "*.example.org"
            reject from ! source <nets> for any sender ! <bad> recipient ! { "x@y" }
            reject from any for any tagged ! spam ! authenticated
            accept from source <nets> for domain <nets> authenticated deliver to mbox
            """)
        #expect(
            config.rules[0].conditions == [
                MatchCondition(negated: true, .fromLocal),
                MatchCondition(negated: true, .forDomain(.inline(.list(["*.example.org"])))),
            ])
        #expect(
            config.rules[1].conditions == [
                MatchCondition(negated: true, .fromSource(.named("nets"))),
                MatchCondition(.forAny),
                MatchCondition(negated: true, .mailFrom(.named("bad"))),
                MatchCondition(negated: true, .rcptTo(.inline(.list(["x@y"])))),
            ])
        #expect(
            config.rules[2].conditions == [
                MatchCondition(.fromAny), MatchCondition(.forAny),
                MatchCondition(negated: true, .tag(.inline(.list(["spam"])))),
                MatchCondition(negated: true, .auth(nil)),
            ])
        #expect(config.rules[3].conditions.last == MatchCondition(.auth(nil)))
        #expect(config.rules[3].conditions[1] == MatchCondition(.forDomain(.named("nets"))))
    }

    @Test func deliveriesLookupsAndExpire() throws {
        let config = try parse(
            """
            table aliases file:/etc/mail/aliases
            table vusers { "@example.org" = "vmail" }
            accept for local alias <aliases> deliver to mbox expire 2d
            accept for domain example.org virtual <vusers> deliver to maildir "/var/vmail/%{rcpt.user}"
            accept for any userbase <aliases> deliver to lmtp "127.0.0.1:24" rcpt-to as vmail
            accept for local deliver to mda "/usr/bin/procmail" as nobody
            accept for local forward-only
            """)
        let a = config.actions
        #expect(a.map(\.name) == (3...7).map { "accept-line-\($0)" })
        #expect(a[0].method == .mbox && a[0].alias == .named("aliases") && a[0].ttl == 2 * 86_400)
        #expect(a[1].virtual == .named("vusers"))
        #expect(a[1].method == .maildir(path: "/var/vmail/%{rcpt.user}", junk: false))
        #expect(a[2].method == .lmtp(destination: "127.0.0.1:24", rcptTo: true))
        #expect(a[2].user == "vmail" && a[2].userbase == .named("aliases"))
        #expect(a[3].method == .mda(command: "/usr/bin/procmail") && a[3].user == "nobody")
        #expect(a[4].method == .forwardOnly)
        #expect(config.rules.map(\.decision) == a.map { .action($0.name) })
    }

    @Test func relay() throws {
        let config = try parse(
            """
            table secrets file:/etc/mail/secrets
            table sources { 192.0.2.1 }
            accept from any for domain "x" relay
            accept for any relay via "smtp+tls://user@smtp.example.org:587" auth <secrets> as "me@example.org" source <sources> hostname mx.example.org pki mx.example.org
            accept for any relay backup mx2.example.org tls verify
            """)
        let plain = try #require(config.actions[0].method.relayOptions)
        #expect(plain == RelayOptions())
        #expect(config.rules[0].conditions[1] == MatchCondition(.forDomain(.inline(.list(["x"])))))
        let via = try #require(config.actions[1].method.relayOptions)
        #expect(via.host == .inline(.list(["smtp+tls://user@smtp.example.org:587"])))
        #expect(via.auth == .named("secrets"))
        #expect(via.mailFrom == "me@example.org")
        #expect(via.source == .named("sources"))
        #expect(via.helo == "mx.example.org")
        #expect(via.pki == "mx.example.org")
        let backup = try #require(config.actions[2].method.relayOptions)
        #expect(
            backup.backup && backup.backupMX == "mx2.example.org" && backup.tls && backup.tlsVerify)
    }

    @Test func globalStatements() throws {
        let config = try parse(
            """
            limit session max-rcpt 10
            limit session max-mails 3
            limit mta for domain example.org max-conn 2 inet6
            limit mda max-session 4
            limit scheduler max-inflight 9
            max-message-size 10M
            expire 4d
            bounce-warn 1h, 2h
            max-mta-deferred 10
            queue compression
            queue encryption key "0123"
            ciphers "HIGH"
            subaddressing-delimiter "_"
            pki mx.example.org certificate "/etc/ssl/x.crt"
            pki mx.example.org key "/etc/ssl/x.key"
            ca root certificate "/etc/ssl/ca.crt"
            listen on lo mask-source
            reject from any for any
            """)
        #expect(config.maxRecipients == 10)
        #expect(config.maxMailsPerSession == 3)
        #expect(config.maxMessageSize == 10_485_760)
        #expect(config.queue.ttl == 4 * 86_400)
        #expect(config.queue.bounceWarnIntervals == [3600, 7200])
        #expect(config.mtaMaxDeferred == 10)
        #expect(config.queue.encryptionKey == "0123")
        #expect(config.ciphers == "HIGH")
        #expect(config.subaddressDelimiter == "_")
        #expect(config.pkis["mx.example.org"]?.certificate == "/etc/ssl/x.crt")
        #expect(config.pkis["mx.example.org"]?.key == "/etc/ssl/x.key")
        #expect(config.cas["root"] == "/etc/ssl/ca.crt")
        #expect(config.listeners[0].maskSource)
    }

    @Test func mixedGrammarsShareOneModel() throws {
        let config = try parse(
            """
            listen on lo port 2525
            action "local" mbox
            accept from any for domain example.org deliver to maildir "/tmp/m"
            match from any for local action "local"
            reject from any for any
            """)
        #expect(config.actions.map(\.name) == ["local", "accept-line-3"])
        #expect(
            config.rules.map(\.decision) == [.action("accept-line-3"), .action("local"), .reject])
    }

    @Test func oldKeywordsAreFreeNamesInNewStatements() throws {
        // "deliver" and "to" are old keywords only: a 6.4+ file may use them as names.
        let config = try parse("action deliver mbox\nmatch for any action deliver")
        #expect(config.actions[0].name == "deliver")
    }
}
