/// How one listener presents itself; shared by all sessions accepted on it.
public struct SessionConfiguration: Sendable {
    /// Name in the banner, the HELO/EHLO reply, `Received:` and appended to domain-less
    /// addresses. OpenSMTPD: listener `hostname`.
    public var serverName: String
    /// `220 vm ESMTP MailLab`, `by vm (MailLab) with SMTP id …`. OpenSMTPD: `SMTPD_NAME`.
    public var softwareName = "MailLab"
    public var limits = SessionLimits()
    /// True for a 127.0.0.1/::1 listener: a message without `Date:`/`Message-ID:` gets them
    /// appended to its header section (OpenSMTPD `listener->local`).
    public var listenerIsLocal: Bool
    /// Departure: EHLO advertises `PIPELINING`. Pipelined commands are answered in order
    /// whether or not this is advertised (OpenSMTPD refuses pipelining and closes).
    public var advertisePipelining = true
    /// 8BITMIME (RFC 6152): EHLO advertises it and MAIL takes `BODY=8BITMIME`. MailLab
    /// `no-8bitmime` switches both off (`BODY=8BITMIME` is then an unsupported option).
    public var eightBitMIME = true
    /// SMTPUTF8 (RFC 6531): EHLO advertises it, MAIL takes the `SMTPUTF8` parameter, and
    /// with it UTF-8 local parts and domains are accepted. Departure: OpenSMTPD 6.8 has no
    /// SMTPUTF8 (`503 5.5.4 Invalid command arguments: Unsupported option SMTPUTF8`); false
    /// gives exactly that.
    public var smtputf8 = true
    /// CHUNKING and BINARYMIME (RFC 3030): EHLO advertises both, `BDAT n [LAST]` is a
    /// command and MAIL takes `BODY=BINARYMIME`. Departure: OpenSMTPD 6.8 has neither
    /// (`500 5.5.1 Invalid command: Command unrecognized` for BDAT); false gives exactly that.
    public var chunking = true
    /// DSN (RFC 3461): EHLO advertises it and MAIL/RCPT take RET, ENVID, NOTIFY, ORCPT.
    /// OpenSMTPD: `ADVERTISE_EXT_DSN`, off with `listen … no-dsn` (the parameters are then
    /// unsupported options).
    public var dsn = true
    /// Emit `.trace` events like `smtpd -T smtp`.
    public var traceEnabled = false
    /// STARTTLS on this listener (OpenSMTPD `listen … tls|tls-require`).
    public var tlsOffer = TLSOffer.none
    /// SMTPS (`listen … smtps`): TLS from the first byte, so the session is secure from the
    /// start and STARTTLS is not offered. The server calls `tlsEstablished` before `start`.
    public var implicitTLS = false
    /// AUTH PLAIN/LOGIN on this listener (OpenSMTPD `listen … auth|auth-optional`).
    public var authOffer = AuthOffer.none
    /// MailLab `auth-plaintext`: AUTH is offered before TLS too. Departure: OpenSMTPD offers
    /// AUTH only under TLS (`ADVERTISE_AUTH` needs `SF_SECURE`) and refuses `auth` on a
    /// listener without `tls`/`smtps`; a lab emulating a plaintext submission port needs it.
    public var authWithoutTLS = false
    /// `listen … mask-src`: `Received:` leaves out the client's HELO name, reverse name and
    /// address (OpenSMTPD `F_MASK_SOURCE`: the line then starts `Received: ` + LF TAB `by`).
    public var maskSource = false
    /// `listen … received-auth`: under TLS, `Received:` says ` auth=yes user=NAME` or
    /// ` auth=no` after the TLS comment (OpenSMTPD `F_RECEIVEDAUTH`; nothing without TLS).
    public var receivedAuth = false
    /// `listen … senders <table>`: for an authenticated session, whether the user may give
    /// this reverse path in MAIL FROM (the table maps the user to addresses, `@domain`,
    /// `user`); false answers `530 Sender rejected`, as OpenSMTPD's `lka_mailaddrmap`.
    /// Not asked without AUTH. Nil: no check.
    public var senderAllowed: (@Sendable (_ user: String, _ sender: ReversePath) -> Bool)?
    /// `listen … senders <table> masquerade`: an authenticated session's `From:` addresses are
    /// replaced by its MAIL FROM address (OpenSMTPD `F_MASQUERADE`, only with `senders`).
    public var masquerade = false

    public init(serverName: String, listenerIsLocal: Bool) {
        self.serverName = serverName
        self.listenerIsLocal = listenerIsLocal
    }
}

/// What a listener offers before TLS. OpenSMTPD: `F_STARTTLS`, `F_STARTTLS_REQUIRE`.
public enum TLSOffer: Sendable, Equatable {
    case none
    /// `tls`: EHLO advertises STARTTLS.
    case starttls
    /// `tls-require`: advertised, and MAIL before it gets `530 5.5.1`.
    case required
}

/// What a listener offers for AUTH. OpenSMTPD: `F_AUTH`, `F_AUTH_REQUIRE`.
public enum AuthOffer: Sendable, Equatable {
    case none
    /// `auth-optional`: advertised; MAIL is accepted without it.
    case optional
    /// `auth`: advertised, and MAIL before it gets `530 5.5.1`.
    case required
}

/// The negotiated TLS parameters, shown in `Received:` as `(VERSION:CIPHER:BITS:NO)`.
public struct TLSDetails: Sendable, Equatable {
    /// `TLSv1.3` (`SSL_get_version`).
    public var version: String
    /// `TLS_AES_256_GCM_SHA384` (`SSL_CIPHER_get_name`).
    public var cipher: String
    /// Secret bits of the cipher (`SSL_CIPHER_get_bits`).
    public var bits: Int

    public init(version: String, cipher: String, bits: Int) {
        self.version = version
        self.cipher = cipher
        self.bits = bits
    }

    /// `TLSv1.3:TLS_AES_256_GCM_SHA384:256`, as OpenSMTPD's `ssl_to_text` logs it.
    public var text: String { "\(version):\(cipher):\(bits)" }
}

/// The client end of a connection.
public struct PeerInfo: Sendable, Equatable {
    /// Numeric address as text: `"127.0.0.1"`, `"::1"`.
    public var address: String
    /// Verified reverse-DNS name; nil is shown as `<unknown>`.
    public var hostName: String?

    public init(address: String, hostName: String? = nil) {
        self.address = address
        self.hostName = hostName
    }

    var hostNameText: String { hostName ?? "<unknown>" }
}

/// Clock and randomness, injected so the session stays pure and tests are exact.
public struct SessionEnvironment: Sendable {
    /// Unix time in seconds.
    public var now: @Sendable () -> Int64
    /// Source of session ids (16 hex), message ids (8 hex), envelope ids and `Message-ID:`.
    public var random: @Sendable () -> UInt64
    /// Bytes the store can take now (nil: unknown). Asked only for a `MAIL FROM` with
    /// `SIZE=`: a message larger than this is refused there with `452 4.3.1` (RFC 1870)
    /// instead of after all of it was sent.
    public var freeStorage: (@Sendable () -> Int?)? = nil

    public init(now: @escaping @Sendable () -> Int64, random: @escaping @Sendable () -> UInt64) {
        self.now = now
        self.random = random
    }
}
