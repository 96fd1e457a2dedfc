/// What `listen on WORD` names. Only IP literals are told apart here; resolving a word
/// (interface name first, then host name such as `localhost`) is the server's job, as in
/// OpenSMTPD's `create_if_listener`.
public enum ListenTarget: Sendable, Hashable {
    /// A word that is not an IP literal: an interface (`lo`, `bbb`) or a host name.
    case interface(String)
    /// An IPv4 or IPv6 literal (`127.0.0.1`, `::1`).
    case address(String)
    /// `listen on socket`: the local enqueuer socket.
    case socket
}

public enum AddressFamily: Sendable, Hashable {
    case any, inet4, inet6
}

/// The TLS mode of a listener.
public enum TLSMode: Sendable, Hashable {
    case none
    /// `tls`: STARTTLS offered.
    case starttls
    /// `tls-require`: STARTTLS offered and required before MAIL.
    case required
    /// `smtps`: TLS from the first byte (default port 465).
    case smtps
}

/// `auth` options of a listener.
public enum ListenAuth: Sendable, Hashable {
    case none
    /// `auth [<t>]`: authentication required before MAIL.
    case required(TableRef?)
    /// `auth-optional [<t>]`.
    case optional(TableRef?)
}

/// One `listen on …` statement (same syntax in both grammars; `mask-source` and
/// `mask-src` both set `maskSource`).
public struct ListenDirective: Sendable, Hashable {
    public var target: ListenTarget
    public var family: AddressFamily = .any
    /// 25 by default, 465 with `smtps`; 0 for the socket.
    public var port: UInt16 = 25
    /// Server name announced on this listener (`hostname H`); nil = the machine's name.
    public var hostname: String?
    public var hostnames: TableRef?
    public var tls: TLSMode = .none
    /// `verify` after `tls-require` or `smtps`: client certificates are checked.
    public var verifyClient = false
    public var pkis: [String] = []
    public var ca: String?
    public var auth: ListenAuth = .none
    /// MailLab `auth-plaintext`: AUTH is offered before TLS too, and `auth` needs no
    /// `tls`/`smtps` (OpenSMTPD: `auth requires tls/smtps`).
    public var authWithoutTLS = false
    /// MailLab `auth-accept-any`: a test server's AUTH, accepting every user name and
    /// password (the name is recorded). Needs `auth` or `auth-optional` without a table.
    public var authAcceptAny = false
    public var tag: String?
    public var maskSource = false
    public var noDSN = false
    /// MailLab `no-smtputf8`: SMTPUTF8 neither advertised nor accepted (as OpenSMTPD 6.8).
    public var noSMTPUTF8 = false
    /// MailLab `no-chunking`: CHUNKING and BINARYMIME neither advertised nor accepted (BDAT
    /// is an unknown command, as in OpenSMTPD 6.8).
    public var noChunking = false
    /// MailLab `no-pipelining`: PIPELINING is not advertised. Pipelined commands are still
    /// answered in order: refusing them (OpenSMTPD's `500 … Pipelining not supported`)
    /// would depend on how TCP happened to split the client's bytes.
    public var noPipelining = false
    /// MailLab `no-8bitmime`: 8BITMIME neither advertised nor accepted (`BODY=8BITMIME`).
    public var no8BitMIME = false
    public var receivedAuth = false
    public var proxyV2 = false
    public var senders: TableRef?
    public var masquerade = false
    public var filter: String?
    public var ciphers: String?
    public var protocols: String?
    public var location: SourceLocation

    public init(target: ListenTarget, location: SourceLocation) {
        self.target = target
        self.location = location
        if target == .socket { port = 0 }
    }
}
