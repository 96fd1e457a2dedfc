import Testing

@testable import SMTPProtocol

private func plain(_ user: String, _ password: String) -> String {
    Base64.encode(Array(("\0" + user + "\0" + password).utf8))
}

/// A driver after STARTTLS (established) and EHLO; `alice`/`secret` authenticates.
private func secured(_ change: (inout SessionConfiguration) -> Void) -> Driver {
    var configuration = referenceConfiguration()
    configuration.tlsOffer = .starttls
    configuration.authOffer = .optional
    change(&configuration)
    var driver = Driver(configuration: configuration)
    driver.authenticate = {
        $0.user == Array("alice".utf8) && $0.password == Array("secret".utf8)
            ? .accepted : .rejected
    }
    driver.start()
    driver.send("EHLO client.test\r\nSTARTTLS\r\n")
    _ = driver.session.tlsEstablished(
        protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256)
    driver.send("EHLO client.test\r\n")
    return driver
}

/// The stored text of the one message a transaction delivers.
private func stored(_ driver: inout Driver, from: String = "alice@example.org", body: String)
    -> String?
{
    let events = driver.send(
        "MAIL FROM:<\(from)>\r\nRCPT TO:<root@vm>\r\nDATA\r\n\(body).\r\n")
    return events.messages.first.map { String(decoding: $0.content, as: UTF8.self) }
}

/// Allows alice to send as alice@example.org and anyone at example.com.
private let aliceSenders: @Sendable (String, ReversePath) -> Bool = { user, path in
    guard user == "alice", case .address(let address) = path else { return false }
    return address.description == "alice@example.org" || address.domain == "example.com"
}

@Suite("Listener options in the session: mask-src, received-auth, senders, masquerade")
struct ListenerPresentationTests {
    @Test(
        "mask-src: Received: names no client, the next line starts with by (OpenSMTPD F_MASK_SOURCE)"
    )
    func maskSourceOmitsTheClient() throws {
        var plainDriver = Driver()
        plainDriver.start()
        plainDriver.send("EHLO client.test\r\n")
        let shown = try #require(stored(&plainDriver, body: "Subject: x\r\n\r\nhi\r\n"))
        #expect(shown.hasPrefix("Received: from client.test ("))

        var configuration = referenceConfiguration()
        configuration.maskSource = true
        var driver = Driver(configuration: configuration)
        driver.start()
        driver.send("EHLO client.test\r\n")
        let masked = try #require(stored(&driver, body: "Subject: x\r\n\r\nhi\r\n"))
        #expect(masked.hasPrefix("Received: \n\tby "))
        #expect(!masked.contains("client.test"))
        #expect(!masked.contains("[127.0.0.1]"))
    }

    @Test("received-auth: auth=yes user=NAME after the TLS comment, auth=no without AUTH")
    func receivedAuthNamesTheUser() throws {
        var driver = secured { $0.receivedAuth = true }
        driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        let text = try #require(stored(&driver, body: "Subject: x\r\n\r\nhi\r\n"))
        #expect(text.contains(":NO) auth=yes user=alice\n\tfor <root@vm>"))

        var anonymous = secured { $0.receivedAuth = true }
        let other = try #require(stored(&anonymous, body: "Subject: x\r\n\r\nhi\r\n"))
        #expect(other.contains(":NO) auth=no\n"))

        var off = secured { _ in }
        off.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        let without = try #require(stored(&off, body: "Subject: x\r\n\r\nhi\r\n"))
        #expect(!without.contains("auth="))
    }

    @Test("senders: an authenticated user gets 530 Sender rejected for an address not listed")
    func sendersTableRefusesOtherAddresses() {
        var driver = secured { $0.senderAllowed = aliceSenders }
        driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        #expect(
            driver.send("MAIL FROM:<mallory@example.org>\r\n").replies == ["530 Sender rejected"])
        #expect(driver.send("MAIL FROM:<>\r\n").replies == ["530 Sender rejected"])
        #expect(driver.send("MAIL FROM:<alice@example.org>\r\n").replies == ["250 2.0.0 Ok"])
        driver.send("RSET\r\n")
        #expect(driver.send("MAIL FROM:<anyone@example.com>\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("senders: not asked for a session that did not authenticate (as OpenSMTPD)")
    func sendersTableOnlyForAuthenticatedSessions() {
        var driver = secured { $0.senderAllowed = { _, _ in false } }
        #expect(driver.send("MAIL FROM:<mallory@example.org>\r\n").replies == ["250 2.0.0 Ok"])
    }

    @Test("masquerade: From: of an authenticated session becomes the MAIL FROM address; To: stays")
    func masqueradeRewritesFrom() throws {
        var driver = secured {
            $0.senderAllowed = aliceSenders
            $0.masquerade = true
        }
        driver.send("AUTH PLAIN \(plain("alice", "secret"))\r\n")
        let text = try #require(
            stored(
                &driver,
                body: "From: Alice Liddell <someone@elsewhere.test>\r\nTo: bob\r\n\r\nhi\r\n"))
        #expect(text.contains("From: Alice Liddell <alice@example.org>\n"))
        #expect(text.contains("To: bob@"))

        var anonymous = secured {
            $0.senderAllowed = aliceSenders
            $0.masquerade = true
        }
        let kept = try #require(
            stored(&anonymous, body: "From: Alice <someone@elsewhere.test>\r\n\r\nhi\r\n"))
        #expect(kept.contains("From: Alice <someone@elsewhere.test>\n"))
    }
}

@Suite("header_address_rewrite_buffer (masquerade) on one address piece")
struct HeaderAddressReplaceTests {
    private func replaced(_ piece: String) -> String {
        String(
            decoding: HeaderAddressRewriter.replaceAddress(
                in: Array(piece.utf8), with: Array("s@d.test".utf8)), as: UTF8.self)
    }

    @Test(
        "the bracketed address, else the last word, is replaced; groups and broken quoting stay",
        arguments: [
            (" Alice <a@b.test>\n", " Alice <s@d.test>\n"),
            (" a@b.test\n", " s@d.test\n"),
            (" a@b.test (Alice)\n", " s@d.test (Alice)\n"),
            (" \"Alice, A\" <a@b.test>\n", " \"Alice, A\" <s@d.test>\n"),
            (" friends: a@b.test;\n", " friends: a@b.test;\n"),
            (" \"unbalanced <a@b.test>\n", " \"unbalanced <a@b.test>\n"),
            (" <a@b.test\n", " <a@b.test\n"),
            (" <>\n", " <s@d.test>\n"),
        ])
    func replaces(input: String, expected: String) {
        #expect(replaced(input) == expected)
    }
}
