import Testing

@testable import SMTPProtocol

private let ready = "220 2.0.0 Ready to start TLS"
private let notSupported = "503 5.5.1 Invalid command: Command not supported"
private let notAllowed = "503 5.5.1 Invalid command: Command not allowed at this point."

private func configuration(_ offer: TLSOffer, implicit: Bool = false) -> SessionConfiguration {
    var configuration = referenceConfiguration()
    configuration.tlsOffer = offer
    configuration.implicitTLS = implicit
    return configuration
}

/// A started driver on a listener with `offer`, after `EHLO x`.
private func greeted(_ offer: TLSOffer = .starttls) -> Driver {
    var driver = Driver(configuration: configuration(offer))
    driver.start()
    driver.send("EHLO x\r\n")
    return driver
}

private func establish(_ driver: inout Driver) -> [SessionEvent] {
    driver.session.tlsEstablished(protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256)
}

@Suite("STARTTLS and SMTPS in the session (RFC 3207, OpenSMTPD rows 14, 40, 41)")
struct StartTLSTests {
    @Test("EHLO advertises STARTTLS after DSN on tls and tls-require listeners only")
    func advertised() {
        for offer in [TLSOffer.starttls, .required] {
            var driver = Driver(configuration: configuration(offer))
            driver.start()
            #expect(
                driver.send("EHLO x\r\n").replies.suffix(3) == [
                    "250-DSN", "250-STARTTLS", "250 HELP",
                ])
        }
        var plain = Driver(configuration: configuration(.none))
        plain.start()
        #expect(!plain.send("EHLO x\r\n").replies.contains("250-STARTTLS"))
        var smtps = Driver(configuration: configuration(.starttls, implicit: true))
        _ = smtps.start()
        _ = establish(&smtps)
        #expect(!smtps.send("EHLO x\r\n").replies.contains("250-STARTTLS"))
    }

    @Test("STARTTLS: 220 and a .startTLS event after the reply; nothing else")
    func ready220() {
        var driver = greeted()
        let events = driver.send("STARTTLS\r\n")
        #expect(events.replies == [ready])
        #expect(events.contains(.startTLS))
        let replyIndex = events.firstIndex { if case .reply = $0 { true } else { false } }
        #expect(replyIndex! < events.firstIndex(of: .startTLS)!)
        #expect(events.closes == 0)
    }

    @Test("STARTTLS\\r\\nRSET\\r\\n in one write: only the 220; RSET is never answered")
    func injectionDiscarded() {
        var driver = greeted()
        let events = driver.send("STARTTLS\r\nRSET\r\nMAIL FROM:<a@b>\r\n")
        #expect(events.replies == [ready])
        // Plaintext arriving before the handshake completes is dropped as well.
        #expect(driver.send("NOOP\r\n").replies.isEmpty)
        let after = establish(&driver)
        #expect(after.replies.isEmpty)
        #expect(
            after.logs.last
                == "\(driver.session.id) smtp tls ciphers=TLSv1.3:TLS_AES_256_GCM_SHA384:256")
        #expect(driver.send("NOOP\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("after the handshake the EHLO is forgotten: MAIL gets 503 until a new EHLO")
    func freshEhloRequired() {
        var driver = greeted()
        driver.send("STARTTLS\r\n")
        _ = establish(&driver)
        #expect(driver.send("MAIL FROM:<a@b>\r\n").replies == [notAllowed])
        let ehlo = driver.send("EHLO y\r\n").replies
        #expect(ehlo.first == "250-vm Hello y [127.0.0.1], pleased to meet you")
        #expect(!ehlo.contains("250-STARTTLS"))
        #expect(driver.send("MAIL FROM:<a@b>\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("STARTTLS again under TLS: 503 Channel already secured")
    func alreadySecured() {
        var driver = greeted()
        driver.send("STARTTLS\r\n")
        _ = establish(&driver)
        driver.send("EHLO y\r\n")
        #expect(
            driver.send("STARTTLS\r\n").replies == [
                "503 5.5.1 Invalid command: Channel already secured"
            ])
    }

    @Test("STARTTLS with arguments: 501 5.5.4 No parameters allowed")
    func withArguments() {
        var driver = greeted()
        let events = driver.send("STARTTLS now\r\n")
        #expect(events.replies == ["501 5.5.4 Invalid command arguments: No parameters allowed"])
        #expect(!events.contains(.startTLS))
    }

    @Test("STARTTLS where not offered (plain and SMTPS listeners): 503 Command not supported")
    func notOffered() {
        var plain = greeted(.none)
        #expect(plain.send("STARTTLS\r\n").replies == [notSupported])
        var smtps = Driver(configuration: configuration(.none, implicit: true))
        _ = smtps.start()
        _ = establish(&smtps)
        smtps.send("EHLO x\r\n")
        #expect(smtps.send("STARTTLS\r\n").replies == [notSupported])
    }

    @Test("STARTTLS before EHLO or inside a transaction: 503 not allowed at this point")
    func wrongTime() {
        var early = Driver(configuration: configuration(.starttls))
        early.start()
        #expect(early.send("STARTTLS\r\n").replies == [notAllowed])
        var driver = greeted()
        driver.send("MAIL FROM:<a@b>\r\n")
        let events = driver.send("STARTTLS\r\n")
        #expect(events.replies == [notAllowed])
        #expect(!events.contains(.startTLS))
    }

    @Test("tls-require: MAIL before STARTTLS gets 530 5.5.1; after TLS it is accepted")
    func required() {
        var driver = greeted(.required)
        #expect(
            driver.send("MAIL FROM:<a@b>\r\n").replies == [
                "530 5.5.1 Invalid command: Must issue a STARTTLS command first"
            ])
        driver.send("STARTTLS\r\n")
        _ = establish(&driver)
        driver.send("EHLO x\r\n")
        #expect(driver.send("MAIL FROM:<a@b>\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("Received: with ESMTPS id … (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO), OpenSMTPD's order")
    func receivedHeader() throws {
        var driver = greeted()
        driver.send("STARTTLS\r\n")
        _ = establish(&driver)
        let events = driver.send(
            "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
        )
        let message = try #require(events.messages.first)
        let text = String(decoding: message.content, as: UTF8.self)
        #expect(
            text.hasPrefix(
                "Received: from x (localhost [127.0.0.1])\n\tby vm (MailLab) with ESMTPS id \(message.id)"
                    + " (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO)\n\tfor <root@vm>;\n"))
        #expect(message.protocolName == "ESMTP")
    }

    @Test("SMTPS: no banner until the handshake, then the banner and ESMTPS")
    func smtps() throws {
        var driver = Driver(configuration: configuration(.none, implicit: true))
        let start = driver.start()
        #expect(start.replies.isEmpty)
        #expect(start.contains(.startTLS))
        #expect(driver.send("EHLO early\r\n").replies.isEmpty)
        #expect(establish(&driver).replies == ["220 vm ESMTP MailLab"])
        let events = driver.send(
            "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@vm>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
        )
        let message = try #require(events.messages.first)
        #expect(String(decoding: message.content, as: UTF8.self).contains("with ESMTPS id "))
    }

    @Test("a failed handshake closes the session with an io-error log line")
    func handshakeFailure() {
        var driver = greeted()
        driver.send("STARTTLS\r\n")
        let events = driver.session.tlsFailed("wrong version number")
        #expect(events.replies.isEmpty)
        #expect(events.closes == 1)
        #expect(
            events.logs == [
                "\(driver.session.id) smtp disconnected reason=io-error: wrong version number"
            ])
        #expect(!driver.session.wantsInput)
    }

    @Test("the trace shows STATE_TLS, then STATE_HELO after the handshake")
    func trace() {
        var driver = greeted()
        let events = driver.send("STARTTLS\r\n") + establish(&driver)
        #expect(events.traces.contains { $0.hasSuffix("STATE_HELO -> STATE_TLS") })
        #expect(events.traces.contains { $0.hasSuffix("STATE_TLS -> STATE_HELO") })
    }
}
