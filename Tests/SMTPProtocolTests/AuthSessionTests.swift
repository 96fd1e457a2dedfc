import Testing

@testable import SMTPProtocol

private let notSupported = "503 5.5.1 Invalid command: Command not supported"
private let notAllowed = "503 5.5.1 Invalid command: Command not allowed at this point."
private let syntaxError = "501 5.5.2 Syntax error: Syntax error"
private let succeeded = "235 2.0.0 Authentication succeeded"
private let failed = "535 Authentication failed"

/// "user\0secret" style credentials in base64, as clients send them.
private func plain(_ user: String, _ password: String, authzid: String = "") -> String {
    Base64.encode(Array((authzid + "\0" + user + "\0" + password).utf8))
}

private func b64(_ text: String) -> String { Base64.encode(Array(text.utf8)) }

/// Accepts alice/secret only.
private let checkAlice: @Sendable (AuthenticationRequest) -> SMTPSession.AuthenticationResult = {
    $0.user == Array("alice".utf8) && $0.password == Array("secret".utf8) ? .accepted : .rejected
}

private func authConfiguration(
    _ offer: AuthOffer = .optional, withoutTLS: Bool = false, tls: TLSOffer = .starttls
) -> SessionConfiguration {
    var configuration = referenceConfiguration()
    configuration.tlsOffer = tls
    configuration.authOffer = offer
    configuration.authWithoutTLS = withoutTLS
    return configuration
}

/// A started driver after TLS and `EHLO x`.
private func secured(
    _ offer: AuthOffer = .optional, environment: SessionEnvironment = fixedEnvironment()
)
    -> Driver
{
    var driver = Driver(configuration: authConfiguration(offer), environment: environment)
    driver.authenticate = checkAlice
    driver.start()
    driver.send("EHLO x\r\nSTARTTLS\r\n")
    _ = driver.session.tlsEstablished(
        protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256)
    driver.send("EHLO x\r\n")
    return driver
}

@Suite("AUTH PLAIN and LOGIN in the session (RFC 4954; OpenSMTPD rows 15, 40, 42-44)")
struct AuthSessionTests {
    @Test(
        "EHLO offers AUTH PLAIN LOGIN only under TLS, after STARTTLS's place, until authenticated")
    func advertisedUnderTLSOnly() {
        var driver = Driver(configuration: authConfiguration())
        driver.authenticate = checkAlice
        driver.start()
        let before = driver.send("EHLO x\r\n").replies
        #expect(!before.contains("250-AUTH PLAIN LOGIN"))
        #expect(before.suffix(3) == ["250-DSN", "250-STARTTLS", "250 HELP"])
        #expect(driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n").replies == [notSupported])
        driver.send("STARTTLS\r\n")
        _ = driver.session.tlsEstablished(protocol: "TLSv1.3", cipher: "C", bits: 256)
        #expect(
            driver.send("EHLO x\r\n").replies.suffix(3) == [
                "250-DSN", "250-AUTH PLAIN LOGIN", "250 HELP",
            ])
        #expect(driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n").replies == [succeeded])
    }

    @Test("auth-plaintext (MailLab): AUTH offered and accepted before TLS")
    func plaintextListener() {
        var driver = Driver(configuration: authConfiguration(withoutTLS: true, tls: .none))
        driver.authenticate = checkAlice
        driver.start()
        #expect(
            driver.send("EHLO x\r\n").replies.suffix(2) == ["250-AUTH PLAIN LOGIN", "250 HELP"])
        #expect(driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n").replies == [succeeded])
        #expect(!driver.send("RSET\r\n").replies.isEmpty)
    }

    @Test("a listener without auth answers AUTH as before: 503 Command not supported")
    func notOffered() {
        var driver = Driver(configuration: authConfiguration(.none))
        driver.start()
        #expect(driver.send("AUTH PLAIN\r\n").replies == [notAllowed])
        driver.send("EHLO x\r\n")
        #expect(driver.send("AUTH PLAIN\r\n").replies == [notSupported])
    }

    @Test("AUTH PLAIN with an initial response: 235, and Received says ESMTPSA")
    func plainInitialResponse() {
        var driver = secured()
        let events = driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        #expect(events.replies == [succeeded])
        #expect(events.logs.last == "\(driver.session.id) smtp authentication user=alice result=ok")
        #expect(driver.session.authenticatedUser == "alice")
        let message = driver.send(
            "MAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"
        ).messages
        #expect(message.count == 1)
        #expect(message.first?.authenticatedUser == "alice")
        let text = String(decoding: message.first?.content ?? [], as: UTF8.self)
        #expect(text.contains(") with ESMTPSA id "))
        // Authenticated once is enough: a second AUTH is refused.
        #expect(
            driver.send("AUTH LOGIN\r\n").replies == [
                "503 5.5.1 Invalid command: Already authenticated"
            ])
        #expect(!driver.send("EHLO y\r\n").replies.contains("250-AUTH PLAIN LOGIN"))
    }

    @Test("AUTH PLAIN without an initial response: '334 ' (trailing space), then the response")
    func plainDialogue() {
        var driver = secured()
        let prompt = driver.send("AUTH PLAIN\r\n")
        #expect(prompt.rawReplies == [Array("334 \r\n".utf8)])
        #expect(driver.session.state == .authInit)
        #expect(
            driver.send("\(plain("alice", "secret", authzid: "someone"))\r\n").replies == [
                succeeded
            ])
        #expect(driver.session.state == .helo)
    }

    @Test("AUTH LOGIN: user name prompt, password prompt, 235; the user name may come first")
    func loginDialogue() {
        var driver = secured()
        #expect(driver.send("AUTH LOGIN\r\n").replies == ["334 VXNlcm5hbWU6"])
        #expect(driver.send("\(b64("alice"))\r\n").replies == ["334 UGFzc3dvcmQ6"])
        #expect(driver.send("\(b64("secret"))\r\n").replies == [succeeded])
        var initial = secured()
        #expect(initial.send("AUTH login \(b64("alice"))\r\n").replies == ["334 UGFzc3dvcmQ6"])
        #expect(initial.send("\(b64("secret"))\r\n").replies == [succeeded])
    }

    @Test("a wrong password: 535 Authentication failed, logged as permfail, session goes on")
    func wrongPassword() {
        var driver = secured()
        let events = driver.send("AUTH PLAIN \(plain("alice", "wrong"))\r\n")
        #expect(events.replies == [failed])
        #expect(
            events.logs.contains(
                "\(driver.session.id) smtp authentication user=alice result=permfail"))
        #expect(
            events.logs.contains(
                "\(driver.session.id) smtp failed-command command=\"AUTH PLAIN ********\" result=\"535 Authentication failed\""
            ))
        #expect(driver.session.authenticatedUser == nil)
        #expect(driver.send("AUTH LOGIN\r\n").replies == ["334 VXNlcm5hbWU6"])
        driver.send("\(b64("alice"))\r\n")
        #expect(driver.send("\(b64("nope"))\r\n").replies == [failed])
    }

    @Test("failed attempts are limited: the last 535 is followed by 421 4.7.0 and the close")
    func failureLimit() {
        var driver = secured()
        let limit = driver.session.limits.maxAuthFailures
        for _ in 1..<limit {
            #expect(driver.send("AUTH PLAIN \(plain("alice", "x1"))\r\n").replies == [failed])
        }
        let last = driver.send("AUTH PLAIN \(plain("alice", "x1"))\r\nNOOP\r\n")
        #expect(
            last.replies == [
                failed, "421 4.7.0 vm Too many authentication failures, closing connection",
            ])
        #expect(last.closes == 1)
    }

    @Test("a temporary failure of the check: 421 4.3.0 Temporary failure, then the close")
    func temporaryFailure() {
        var driver = secured()
        driver.authenticate = { _ in .temporaryFailure }
        let events = driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        #expect(events.replies == ["421 4.3.0 Temporary failure"])
        #expect(
            events.logs.contains(
                "\(driver.session.id) smtp authentication user=alice result=tempfail"))
        #expect(events.closes == 1)
    }

    @Test(
        "malformed responses: 501 5.5.2 Syntax error, back to HELO state",
        arguments: [
            "AUTH PLAIN *", "AUTH PLAIN =", "AUTH PLAIN !!!!", "AUTH PLAIN YWxpY2U",
            "AUTH PLAIN \(b64("alice secret"))", "AUTH PLAIN \(b64("\0alice\0"))",
            "AUTH PLAIN \(b64("\0\0secret"))", "AUTH PLAIN \(b64("a\0alice\0secret\0more"))",
            "AUTH PLAIN ", "AUTH LOGIN *", "AUTH LOGIN \(b64("al\0ice"))",
        ])
    func malformed(_ line: String) {
        var driver = secured()
        #expect(driver.send(line + "\r\n").replies == [syntaxError])
        #expect(driver.session.state == .helo)
        #expect(driver.send("NOOP\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("cancel with * inside the dialogue: 501, back to HELO state (RFC 4954 §4)")
    func cancel() {
        var driver = secured()
        driver.send("AUTH LOGIN\r\n")
        #expect(driver.send("*\r\n").replies == [syntaxError])
        driver.send("AUTH PLAIN\r\n")
        #expect(driver.send("*\r\n").replies == [syntaxError])
        driver.send("AUTH LOGIN\r\n\(b64("alice"))\r\n")
        #expect(driver.send("*\r\n").replies == [syntaxError])
        #expect(driver.session.state == .helo)
    }

    @Test("a response longer than maxAuthResponseLength decoded bytes is a syntax error")
    func responseLimit() {
        var driver = secured()
        let limit = driver.session.limits.maxAuthResponseLength
        let password = String(repeating: "p", count: limit - "\0alice\0".utf8.count)
        driver.authenticate = { $0.password.count == password.utf8.count ? .accepted : .rejected }
        #expect(driver.send("AUTH PLAIN \(plain("alice", password))\r\n").replies == [succeeded])
        var over = secured()
        #expect(
            over.send("AUTH PLAIN \(plain("alice", password + "p"))\r\n").replies == [syntaxError])
    }

    @Test(
        "check order as smtp_check_auth: before HELO, in a transaction, no arguments, bad method")
    func checkOrder() {
        var driver = Driver(configuration: authConfiguration())
        driver.start()
        #expect(driver.send("AUTH PLAIN\r\n").replies == [notAllowed])
        var tls = secured()
        #expect(
            tls.send("AUTH\r\n").replies == [
                "501 5.5.4 Invalid command arguments: No parameters given"
            ])
        #expect(
            tls.send("AUTH CRAM-MD5\r\n").replies == [
                "504 5.7.4 Security features not supported: AUTH method \"CRAM-MD5\" not supported"
            ])
        tls.send("MAIL FROM:<a@b>\r\n")
        #expect(tls.send("AUTH PLAIN\r\n").replies == [notAllowed])
    }

    @Test("auth (required): MAIL before AUTH gets 530 5.5.1 Must issue an AUTH command first")
    func requiredBeforeMail() {
        var driver = secured(.required)
        #expect(
            driver.send("MAIL FROM:<a@b>\r\n").replies == [
                "530 5.5.1 Invalid command: Must issue an AUTH command first"
            ])
        driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        #expect(driver.send("MAIL FROM:<a@b>\r\n").replies == ["250 2.0.0 Ok"])
        var optional = secured(.optional)
        #expect(optional.send("MAIL FROM:<a@b>\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("commands pipelined after AUTH wait for its answer and run after it, in order")
    func pipelinedAfterAuth() {
        var driver = Driver(configuration: authConfiguration(withoutTLS: true, tls: .none))
        driver.start()
        driver.send("EHLO x\r\n")
        let events = driver.session.receive(
            Array("AUTH PLAIN \(plain("alice", "secret"))\r\nMAIL FROM:<a@b>\r\n".utf8))
        #expect(events.replies.isEmpty)
        #expect(!driver.session.wantsInput)
        let request = events.compactMap { event -> AuthenticationRequest? in
            if case .authenticate(let request) = event { return request } else { return nil }
        }
        #expect(
            request == [
                AuthenticationRequest(
                    mechanism: "PLAIN", user: Array("alice".utf8), password: Array("secret".utf8))
            ])
        let answer = driver.session.authenticationFinished(.accepted)
        #expect(answer.replies == [succeeded, "250 2.0.0 Ok"])
        #expect(driver.session.wantsInput)
    }

    @Test("the trace and the logs never show a credential")
    func masked() {
        var driver = secured()
        let events = driver.send(
            "AUTH PLAIN \(plain("alice", "secret"))\r\n" + "AUTH LOGIN\r\n")
        let all = events.traces + events.logs
        #expect(all.contains { $0.hasSuffix("<<< AUTH PLAIN ********") })
        var login = secured()
        let dialogue = login.send("AUTH LOGIN \(b64("alice"))\r\n\(b64("wrong"))\r\n")
        let lines = dialogue.traces + dialogue.logs
        #expect(lines.contains { $0.hasSuffix("<<< ********") })
        for secret in [plain("alice", "secret"), b64("wrong"), b64("alice")] {
            #expect(!(all + lines).contains { $0.contains(secret) })
        }
        #expect(
            dialogue.logs.contains(
                "\(login.session.id) smtp failed-command command=\"********\" result=\"535 Authentication failed\""
            ))
    }

    @Test("after STARTTLS the authentication of the plaintext phase is forgotten")
    func forgottenAfterStartTLS() {
        var driver = Driver(configuration: authConfiguration(withoutTLS: true))
        driver.authenticate = checkAlice
        driver.start()
        driver.send("EHLO x\r\nAUTH PLAIN \(plain("alice", "secret"))\r\nSTARTTLS\r\n")
        #expect(driver.session.authenticatedUser == "alice")
        _ = driver.session.tlsEstablished(protocol: "TLSv1.3", cipher: "C", bits: 256)
        #expect(driver.session.authenticatedUser == nil)
        #expect(driver.send("EHLO x\r\n").replies.contains("250-AUTH PLAIN LOGIN"))
    }

    @Test("the same dialogue fed whole, byte by byte and at random splits gives the same events")
    func splits() {
        let script =
            "EHLO x\r\nAUTH PLAIN\r\n\(plain("alice", "wrong"))\r\nAUTH LOGIN\r\n\(b64("alice"))\r\n"
            + "\(b64("secret"))\r\nAUTH PLAIN *\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\n"
            + "Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n"
        let bytes = Array(script.utf8)
        func run(_ chunks: [[UInt8]]) -> [SessionEvent] {
            var driver = Driver(
                configuration: authConfiguration(withoutTLS: true, tls: .none),
                environment: fixedEnvironment(seed: 7))
            driver.authenticate = checkAlice
            driver.start()
            for chunk in chunks { driver.send(chunk) }
            return driver.events
        }
        let whole = run([bytes])
        #expect(whole.replies.contains(succeeded))
        #expect(whole.replies.contains(failed))
        #expect(whole.messages.count == 1)
        #expect(run(bytes.map { [$0] }) == whole)
        let random = SplitMix(seed: 99)
        for _ in 0..<50 {
            var chunks: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let size = Int(random.next() % 17) + 1
                chunks.append(Array(bytes[offset..<min(bytes.count, offset + size)]))
                offset += size
            }
            #expect(run(chunks) == whole)
        }
    }
}
