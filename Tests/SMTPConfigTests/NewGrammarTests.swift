import Testing

@testable import SMTPConfig

@Suite struct NewGrammarTests {
    @Test func courseConfigInNewSyntax() throws {
        let config = try parse(
            """
            listen on bbb port 25
            action "local" maildir "/tmp/maildir"
            match from any for local action "local"
            """)
        #expect(config.listeners.count == 1)
        #expect(config.listeners[0].target == .interface("bbb"))
        #expect(config.listeners[0].port == 25)
        #expect(config.actions.map(\.name) == ["local"])
        #expect(config.actions[0].method == .maildir(path: "/tmp/maildir", junk: false))
        #expect(config.rules.count == 1)
        #expect(config.rules[0].conditions == fromAnyForLocal)
        #expect(config.rules[0].decision == .action("local"))
        #expect(config.rules[0].location == SourceLocation(file: "smtpd.conf", line: 3))
        #expect(config.maxRecipients == 1000)
        #expect(config.maxMailsPerSession == 100)
        #expect(config.maxMessageSize == 36_700_160)
    }

    @Test func everyLocalMethod() throws {
        let config = try parse(
            """
            action a maildir
            action b maildir junk
            action c maildir "~/Mail/%{rcpt.domain}" junk
            action d mbox
            action e lmtp "/var/run/lmtp.sock" rcpt-to
            action f lmtp localhost:24
            action g mda "/usr/bin/procmail -f -"
            action h expand-only
            action i forward-only
            match for any action a
            """)
        let methods = config.actions.map(\.method)
        #expect(
            methods == [
                .maildir(path: nil, junk: false), .maildir(path: nil, junk: true),
                .maildir(path: "~/Mail/%{rcpt.domain}", junk: true), .mbox,
                .lmtp(destination: "/var/run/lmtp.sock", rcptTo: true),
                .lmtp(destination: "localhost:24", rcptTo: false),
                .mda(command: "/usr/bin/procmail -f -"), .expandOnly, .forwardOnly,
            ])
        #expect(config.actions.map(\.name) == ["a", "b", "c", "d", "e", "f", "g", "h", "i"])
    }

    @Test func localOptions() throws {
        let config = try parse(
            """
            table aliases file:/etc/mail/aliases
            table users db:/etc/mail/users.db
            mda wrapper w "/usr/bin/wrap %{mda}"
            action a maildir alias <aliases> userbase <users> user vmail wrapper w ttl 4d
            action b mbox virtual { "@" = "nobody", abuse => root }
            match from any for any action a
            """)
        let a = try #require(config.action(named: "a"))
        #expect(a.alias == .named("aliases"))
        #expect(a.userbase == .named("users"))
        #expect(a.user == "vmail")
        #expect(a.wrapper == "w")
        #expect(a.ttl == 4 * 86_400)
        #expect(a.virtual == nil)
        let b = try #require(config.action(named: "b"))
        #expect(
            b.virtual == .inline(.mapping([KeyValue("@", "nobody"), KeyValue("abuse", "root")])))
        #expect(config.tables["aliases"] == .file(path: "/etc/mail/aliases", type: "file"))
        #expect(config.tables["users"] == .file(path: "/etc/mail/users.db", type: "db"))
        #expect(config.tableLocations["users"] == SourceLocation(file: "smtpd.conf", line: 2))
        #expect(config.mdaWrappers == ["w": "/usr/bin/wrap %{mda}"])
        #expect(config.table(.named("aliases")) == .file(path: "/etc/mail/aliases", type: "file"))
        #expect(
            config.table(b.virtual!)
                == .mapping([KeyValue("@", "nobody"), KeyValue("abuse", "root")]))
        #expect(config.table(.named("nope")) == nil)
    }

    @Test func relayOptions() throws {
        let config = try parse(
            """
            table secrets file:/etc/mail/secrets
            table sources { 192.0.2.1, 192.0.2.2 }
            pki mx.example.org cert "/etc/ssl/mx.crt"
            srs key "secret"
            action r relay host smtp+tls://user@mx.example.org:587 auth <secrets> \\
                helo mx.example.org src <sources> mail-from "bounce@example.org" \\
                pki mx.example.org ca cacert tls no-verify srs ttl 2h
            action b relay backup mx mx2.example.org tls
            action d relay domain { example.org = "smtp://10.0.0.1" }
            match from any for any action r
            """)
        let r = try #require(config.action(named: "r")?.method.relayOptions)
        #expect(r.host == .inline(.list(["smtp+tls://user@mx.example.org:587"])))
        #expect(r.auth == .named("secrets"))
        #expect(r.helo == "mx.example.org")
        #expect(r.source == .named("sources"))
        #expect(r.mailFrom == "bounce@example.org")
        #expect(r.pki == "mx.example.org")
        #expect(r.ca == "cacert")
        #expect(r.tls && !r.tlsVerify)
        #expect(r.srs)
        #expect(config.action(named: "r")?.ttl == 7200)
        #expect(config.action(named: "r")?.location.line == 5)
        let b = try #require(config.action(named: "b")?.method.relayOptions)
        #expect(b.backup && b.backupMX == "mx2.example.org" && b.tls && b.tlsVerify)
        let d = try #require(config.action(named: "d")?.method.relayOptions)
        #expect(d.domain == .inline(.mapping([KeyValue("example.org", "smtp://10.0.0.1")])))
    }

    @Test func matchOptions() throws {
        let config = try parse(
            """
            table nets { 10.0.0.0/8, "192.168.0.0/16" }
            table users { alice, bob }
            action a mbox
            match from socket for local action a
            match ! from src <nets> for domain "*.example.org" action a
            match from src regex "^10\\." for domain regex ".*\\.org$" action a
            match from rdns for any action a
            match from rdns <users> for any action a
            match from auth for any action a
            match from auth <users> for any action a
            match from mail-from "a@b.c" for rcpt-to <users> action a
            match tag spam helo mx.example.org ! auth mail-from <users> rcpt-to "x@y" tls reject
            match auth <users> for any reject
            match for local reject
            match from any for any reject
            """)
        let c = config.rules.map(\.conditions)
        #expect(c[0] == [MatchCondition(.fromSocket), MatchCondition(.forLocal)])
        #expect(
            c[1] == [
                MatchCondition(negated: true, .fromSource(.named("nets"))),
                MatchCondition(.forDomain(.inline(.list(["*.example.org"])))),
            ])
        #expect(
            c[2] == [
                MatchCondition(regex: true, .fromSource(.inline(.list(["^10\\."])))),
                MatchCondition(regex: true, .forDomain(.inline(.list([".*\\.org$"])))),
            ])
        #expect(c[3][0] == MatchCondition(.fromRDNS(nil)))
        #expect(c[4][0] == MatchCondition(.fromRDNS(.named("users"))))
        #expect(c[5][0] == MatchCondition(.fromAuth(nil)))
        #expect(c[6][0] == MatchCondition(.fromAuth(.named("users"))))
        #expect(
            c[7] == [
                MatchCondition(.fromMailFrom(.inline(.list(["a@b.c"])))),
                MatchCondition(.forRcptTo(.named("users"))),
            ])
        #expect(
            c[8] == [
                MatchCondition(.fromLocal), MatchCondition(.forLocal),
                MatchCondition(.tag(.inline(.list(["spam"])))),
                MatchCondition(.helo(.inline(.list(["mx.example.org"])))),
                MatchCondition(negated: true, .auth(nil)),
                MatchCondition(.mailFrom(.named("users"))),
                MatchCondition(.rcptTo(.inline(.list(["x@y"])))),
                MatchCondition(.tls),
            ])
        #expect(config.rules[8].decision == .reject)
        #expect(
            c[9] == [
                MatchCondition(.fromLocal), MatchCondition(.forAny),
                MatchCondition(.auth(.named("users"))),
            ])
        #expect(c[10] == [MatchCondition(.fromLocal), MatchCondition(.forLocal)])
        #expect(config.rules.map(\.location.line) == Array(4...15))
    }

    @Test func globalSettings() throws {
        let config = try parse(
            """
            smtp limit max-rcpt 10 max-mails 5
            smtp max-message-size 10M
            smtp sub-addr-delim "-"
            smtp ciphers "HIGH:!aNULL"
            queue compression
            queue encryption "0123456789abcdef"
            queue ttl 2d
            bounce warn-interval 1h, 6h
            mta max-deferred 50
            mta limit for domain example.org max-conn 10 inet4
            mda limit max-session 10
            scheduler limit max-inflight 100
            srs key "k"
            srs key backup "old"
            srs ttl 7d
            admd "mx.example.org"
            pki mail cert "/etc/ssl/mx.crt" key "/etc/ssl/private/mx.key"
            pki mail dhe auto
            ca cacert cert "/etc/ssl/ca.crt"
            """ + anyRule)
        #expect(config.maxRecipients == 10)
        #expect(config.maxMailsPerSession == 5)
        #expect(config.maxMessageSize == 10 * 1024 * 1024)
        #expect(config.subaddressDelimiter == "-")
        #expect(config.ciphers == "HIGH:!aNULL")
        #expect(config.queue.compression && config.queue.encryption)
        #expect(config.queue.encryptionKey == "0123456789abcdef")
        #expect(config.queue.ttl == 2 * 86_400)
        #expect(config.queue.bounceWarnIntervals == [3600, 6 * 3600])
        #expect(config.mtaMaxDeferred == 50)
        #expect(config.srsKey == "k")
        #expect(config.admd == "mx.example.org")
        #expect(config.pkis["mail"]?.certificate == "/etc/ssl/mx.crt")
        #expect(config.pkis["mail"]?.key == "/etc/ssl/private/mx.key")
        #expect(config.pkis["mail"]?.dhe == "auto")
        #expect(config.cas == ["cacert": "/etc/ssl/ca.crt"])
    }

    @Test func defaultsWhenNothingIsSet() throws {
        let config = try parse("match for any reject")
        #expect(config.listeners.isEmpty)
        #expect(config.queue.ttl == 4 * 86_400)
        #expect(config.queue.bounceWarnIntervals == [4 * 3600])
        #expect(config.subaddressDelimiter == "+")
        #expect(
            config.rules[0].conditions == [MatchCondition(.fromLocal), MatchCondition(.forAny)])
    }

    @Test func filterStatementsAreSkippedButNamesKept() throws {
        let config = try parse(
            """
            proc rspamd "/usr/local/libexec/smtpd/filter-rspamd" user _rspamd
            filter spam proc rspamd
            filter check phase connect match !rdns disconnect "550 no rDNS"
            filter both chain { check }
            listen on lo filter check
            """ + anyRule)
        #expect(config.filters == ["spam", "check", "both"])
        #expect(config.listeners[0].filter == "check")
    }
}
