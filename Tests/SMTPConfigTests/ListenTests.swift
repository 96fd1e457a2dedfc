import Testing

@testable import SMTPConfig

@Suite struct ListenTests {
    func listener(_ line: String) throws -> ListenDirective {
        try parse(
            "pki mail cert \"/c\" key \"/k\"\nca root cert \"/ca\"\ntable creds { u = p }\n"
                + line + anyRule
        ).listeners[0]
    }

    @Test func targets() throws {
        #expect(try listener("listen on lo").target == .interface("lo"))
        #expect(try listener("listen on localhost").target == .interface("localhost"))
        #expect(try listener("listen on \"bbb\"").target == .interface("bbb"))
        #expect(try listener("listen on 10.77.0.1").target == .address("10.77.0.1"))
        #expect(try listener("listen on ::1").target == .address("::1"))
        #expect(try listener("listen on fe80::1").target == .address("fe80::1"))
        #expect(try listener("listen on socket").target == .socket)
        #expect(try listener("listen on socket").port == 0)
    }

    @Test func portsAndDefaults() throws {
        #expect(try listener("listen on lo").port == 25)
        #expect(try listener("listen on lo port 2525").port == 2525)
        #expect(try listener("listen on lo port smtp").port == 25)
        #expect(try listener("listen on lo port smtps").port == 465)
        #expect(try listener("listen on lo port submission").port == 587)
        #expect(try listener("listen on lo smtps pki mail").port == 465)
        #expect(try listener("listen on lo tls pki mail").port == 25)
        #expect(try listener("listen on lo smtps pki mail port 4650").port == 4650)
        #expect(try listener("listen on lo port 1").port == 1)
        #expect(try listener("listen on lo port 65535").port == 65535)
    }

    @Test func familyAndTLSModes() throws {
        #expect(try listener("listen on lo").family == .any)
        #expect(try listener("listen on lo inet4").family == .inet4)
        #expect(try listener("listen on lo inet6").family == .inet6)
        #expect(try listener("listen on lo").tls == TLSMode.none)
        #expect(try listener("listen on lo tls pki mail").tls == .starttls)
        let required = try listener("listen on lo tls-require verify pki mail ca root")
        #expect(required.tls == .required && required.verifyClient && required.ca == "root")
        let smtps = try listener("listen on lo smtps verify pki mail")
        #expect(smtps.tls == .smtps && smtps.verifyClient && smtps.pkis == ["mail"])
    }

    @Test func everyOtherOption() throws {
        let l = try listener(
            "listen on bbb inet4 port 587 tls pki mail auth <creds> tag MSA hostname mx.example.org "
                + "hostnames { 10.0.0.1 = mx1.example.org } mask-src no-dsn received-auth proxy-v2 "
                + "senders <creds> masquerade ciphers \"HIGH\" protocols \"tlsv1.3\"")
        #expect(l.auth == .required(.named("creds")))
        #expect(l.tag == "MSA")
        #expect(l.hostname == "mx.example.org")
        #expect(l.hostnames == .inline(.mapping([KeyValue("10.0.0.1", "mx1.example.org")])))
        #expect(l.maskSource && l.noDSN && l.receivedAuth && l.proxyV2 && l.masquerade)
        #expect(l.senders == .named("creds"))
        #expect(l.ciphers == "HIGH" && l.protocols == "tlsv1.3")
        #expect(try listener("listen on lo tls pki mail auth").auth == .required(nil))
        #expect(try listener("listen on lo tls pki mail auth-optional").auth == .optional(nil))
        #expect(
            try listener("listen on lo tls pki mail auth-optional <creds>").auth
                == .optional(.named("creds")))
        #expect(try listener("listen on lo mask-source").maskSource)
        let socket = try listener("listen on socket mask-src tag enqueued no-dsn")
        #expect(socket.maskSource && socket.tag == "enqueued" && socket.noDSN)
    }

    @Test func listenLocation() throws {
        let config = try parse("\n\nlisten on lo\nlisten on bbb port 26" + anyRule)
        #expect(config.listeners.map(\.location.line) == [3, 4])
        #expect(config.listeners.map(\.port) == [25, 26])
    }
}

@Suite("listen: auth, auth-optional and the MailLab words auth-plaintext, auth-accept-any")
struct ListenAuthTests {
    let rule = "\nmatch for any reject"

    func listener(_ line: String) throws -> ListenDirective {
        try parse("pki mail cert \"/c\" key \"/k\"\ntable creds { u = p }\n" + line + anyRule)
            .listeners[0]
    }

    @Test("auth and auth-optional, with or without a table; plaintext and accept-any flags")
    func parsed() throws {
        #expect(try listener("listen on lo tls pki mail auth").auth == .required(nil))
        #expect(
            try listener("listen on lo tls pki mail auth <creds>").auth
                == .required(.named("creds")))
        #expect(try listener("listen on lo smtps pki mail auth-optional").auth == .optional(nil))
        let plaintext = try listener("listen on lo auth-optional <creds> auth-plaintext")
        #expect(plaintext.authWithoutTLS && plaintext.auth == .optional(.named("creds")))
        let any = try listener("listen on lo port 2525 auth-accept-any auth auth-plaintext")
        #expect(any.authAcceptAny && any.authWithoutTLS && any.auth == .required(nil))
        #expect(try !listener("listen on lo tls pki mail auth").authAcceptAny)
    }

    @Test("each MailLab word needs auth or auth-optional; accept-any takes no table")
    func refused() {
        #expect(
            errors("listen on lo auth-plaintext" + rule) == [
                "smtpd.conf:1: invalid listen option: auth-plaintext requires auth or auth-optional"
            ])
        #expect(
            errors("listen on lo port 2525 auth-accept-any" + rule) == [
                "smtpd.conf:1: invalid listen option: auth-accept-any requires auth or auth-optional"
            ])
        #expect(
            errors("table t { u = p }\nlisten on lo auth <t> auth-accept-any auth-plaintext" + rule)
                == [
                    "smtpd.conf:2: invalid listen option: auth-accept-any takes no credentials table"
                ])
        #expect(
            errors("listen on lo auth-plaintext auth-plaintext auth" + rule) == [
                "smtpd.conf:1: auth-plaintext already specified"
            ])
    }
}

@Suite("listen: no-smtputf8 and no-chunking (MailLab)")
struct ListenExtensionSwitchTests {
    @Test("no-smtputf8 sets the switch once; twice is an error")
    func noSMTPUTF8() throws {
        let rule = "\nmatch for any reject"
        #expect(try parse("listen on lo no-smtputf8" + rule).listeners[0].noSMTPUTF8)
        #expect(try !parse("listen on lo" + rule).listeners[0].noSMTPUTF8)
        #expect(
            errors("listen on lo no-smtputf8 no-smtputf8" + rule) == [
                "smtpd.conf:1: no-smtputf8 already specified"
            ])
    }

    @Test("no-chunking sets the switch once, independent of no-smtputf8")
    func noChunking() throws {
        let rule = "\nmatch for any reject"
        let both = try parse("listen on lo no-chunking no-smtputf8" + rule).listeners[0]
        #expect(both.noChunking && both.noSMTPUTF8)
        let one = try parse("listen on lo no-chunking" + rule).listeners[0]
        #expect(one.noChunking && !one.noSMTPUTF8)
        #expect(
            errors("listen on lo no-chunking no-chunking" + rule) == [
                "smtpd.conf:1: no-chunking already specified"
            ])
    }

    @Test("no-pipelining and no-8bitmime set their switches once")
    func noPipeliningAnd8BitMIME() throws {
        let rule = "\nmatch for any reject"
        let both = try parse("listen on lo no-pipelining no-8bitmime" + rule).listeners[0]
        #expect(both.noPipelining && both.no8BitMIME && !both.noChunking)
        #expect(try !parse("listen on lo" + rule).listeners[0].noPipelining)
        #expect(
            errors("listen on lo no-8bitmime no-8bitmime" + rule) == [
                "smtpd.conf:1: no-8bitmime already specified"
            ])
    }
}
