/// STARTTLS (RFC 3207) and SMTPS. OpenSMTPD: `smtp_check_starttls`,
/// `smtp_proceed_starttls`, `IO_TLSREADY` and `smtp_tls_started` in smtp_session.c.
extension SMTPSession {
    /// The handshake that `.startTLS` asked for is done. After STARTTLS the session forgets
    /// everything from the plaintext phase (RFC 3207 §4.2): the client must say EHLO again.
    /// On an SMTPS listener the banner follows now.
    public mutating func tlsEstablished(protocol version: String, cipher: String, bits: Int)
        -> [SessionEvent]
    {
        guard !closed, awaitingTLS else { return [] }
        awaitingTLS = false
        let details = TLSDetails(version: version, cipher: cipher, bits: bits)
        tls = details
        log("smtp tls ciphers=\(details.text)")
        framer.discardBuffered()
        if !bannerSent {
            bannerWithFaults()
        } else {
            heloName = nil
            extended = false
            transaction = nil
            authenticatedUser = nil
            // OpenSMTPD enters STATE_HELO with the HELO name cleared: MAIL gets 503 until
            // a new EHLO.
            enterState(.helo)
            processInput()
        }
        return drainEvents()
    }

    /// The handshake failed: the session ends without another word (nothing can be said
    /// in plaintext now). OpenSMTPD: `IO_ERROR` → `reason=io-error`.
    public mutating func tlsFailed(_ reason: String) -> [SessionEvent] {
        guard !closed else { return [] }
        awaitingTLS = false
        transaction = nil
        data = nil
        closed = true
        if state != .quit { enterState(.quit) }
        log("smtp disconnected reason=io-error: \(reason)")
        events.append(.close)
        return drainEvents()
    }

    mutating func checkStartTLS(_ arguments: [UInt8]?) -> Bool {
        if heloName == nil || !$transaction.isNil {
            reply(Self.notAllowed)
            return false
        }
        // SMTPS listeners do not offer STARTTLS at all (OpenSMTPD: no F_STARTTLS).
        if configuration.tlsOffer == .none || configuration.implicitTLS {
            reply("503 5.5.1 Invalid command: Command not supported")
            return false
        }
        if isSecure {
            reply("503 5.5.1 Invalid command: Channel already secured")
            return false
        }
        if arguments != nil {
            reply("501 5.5.4 Invalid command arguments: No parameters allowed")
            return false
        }
        return true
    }

    mutating func proceedStartTLS() {
        reply("220 2.0.0 Ready to start TLS")
        enterState(.tls)
        awaitingTLS = true
        // Departure: OpenSMTPD answers bytes pipelined after STARTTLS with `500 Pipelining
        // not supported` and closes; we drop them, as Postfix does (CVE-2011-0411).
        framer.discardBuffered()
        events.append(.startTLS)
    }

    /// EHLO offers STARTTLS on a `tls`/`tls-require` listener until TLS is up.
    /// OpenSMTPD: `ADVERTISE_TLS`.
    var advertisesStartTLS: Bool {
        configuration.tlsOffer != .none && !configuration.implicitTLS && !isSecure
    }

    /// ` (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO)` after the id in `Received:`; NO: client
    /// certificates are not verified.
    var receivedTLSComment: String {
        guard let tls else { return "" }
        guard configuration.receivedAuth else { return " (\(tls.text):NO)" }
        return " (\(tls.text):NO)"
            + (authenticatedUser.map { " auth=yes user=\($0)" } ?? " auth=no")
    }
}
