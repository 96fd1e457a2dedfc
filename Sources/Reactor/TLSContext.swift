import COpenSSL
import Glibc
import LinuxSystem

/// A server-side TLS configuration shared by every connection of a listener: certificate
/// chain, private key, TLS 1.2 or later, optional TLS ≤ 1.2 cipher list. Thread-safe
/// (OpenSSL's `SSL_CTX` may create sessions from any thread once configured).
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    /// Loads `certificateChain` (PEM, leaf first) and `privateKey` (PEM) and checks that
    /// they match. `ciphers` is an OpenSSL cipher string (OpenSMTPD `smtp ciphers`).
    /// `SSL_CTX_new(TLS_server_method())`, `SSL_CTX_use_certificate_chain_file`,
    /// `SSL_CTX_use_PrivateKey_file`, `SSL_CTX_check_private_key`.
    public init(certificateChain: String, privateKey: String, ciphers: String? = nil)
        throws(TLSError)
    {
        ERR_clear_error()
        try Self.checkReadable(certificateChain, what: "certificate")
        try Self.checkReadable(privateKey, what: "key")
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.fromQueue("SSL_CTX_new", fallback: "out of memory")
        }
        self.context = context
        _ = maillab_SSL_CTX_set_min_proto_version(context, maillab_TLS1_2_VERSION)
        _ = SSL_CTX_set_options(
            context,
            maillab_SSL_OP_NO_RENEGOTIATION | maillab_SSL_OP_NO_COMPRESSION
                | maillab_SSL_OP_CIPHER_SERVER_PREFERENCE)
        // The output buffer may move between a retried SSL_write and the next.
        _ = maillab_SSL_CTX_set_mode(
            context,
            maillab_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | maillab_SSL_MODE_RELEASE_BUFFERS)
        _ = maillab_SSL_CTX_set_session_cache_mode(context, maillab_SSL_SESS_CACHE_OFF)
        guard SSL_CTX_use_certificate_chain_file(context, certificateChain) == 1 else {
            throw TLSError.fromQueue(
                "cannot load certificate", file: certificateChain, fallback: "not a PEM certificate"
            )
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.fromQueue(
                "cannot load key", file: privateKey, fallback: "not a PEM private key")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.fromQueue(
                "key does not match certificate", file: privateKey, fallback: "mismatch")
        }
        if let ciphers, SSL_CTX_set_cipher_list(context, ciphers) != 1 {
            throw TLSError.fromQueue(
                "invalid cipher list \"\(ciphers)\"", fallback: "no cipher matches")
        }
    }

    /// A client-side configuration (the relay's sessions to next hops): TLS 1.2 or later,
    /// the peer's certificate not verified — OpenSMTPD's `smtp+tls://` and `smtps://`
    /// without the `tls` (verify) option, and what a lab's self-signed certificates need.
    /// `SSL_CTX_new(TLS_client_method())`.
    public init(client ciphers: String? = nil) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.fromQueue("SSL_CTX_new", fallback: "out of memory")
        }
        self.context = context
        _ = maillab_SSL_CTX_set_min_proto_version(context, maillab_TLS1_2_VERSION)
        _ = SSL_CTX_set_options(
            context, maillab_SSL_OP_NO_RENEGOTIATION | maillab_SSL_OP_NO_COMPRESSION)
        _ = maillab_SSL_CTX_set_mode(
            context,
            maillab_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | maillab_SSL_MODE_RELEASE_BUFFERS)
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        if let ciphers, SSL_CTX_set_cipher_list(context, ciphers) != 1 {
            throw TLSError.fromQueue(
                "invalid cipher list \"\(ciphers)\"", fallback: "no cipher matches")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// OpenSSL's text for a missing file is "system library::No such file or directory";
    /// `open` says the same plainly and names the file.
    private static func checkReadable(_ path: String, what: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TLSError(
                "cannot read \(what) file", file: path, reason: String(cString: strerror(errno)))
        }
        closeDescriptor(fd)
    }
}

/// What a finished handshake negotiated.
public struct TLSConnectionInfo: Sendable, Equatable {
    /// `TLSv1.3` (`SSL_get_version`).
    public var version: String
    /// `TLS_AES_256_GCM_SHA384` (`SSL_CIPHER_get_name`).
    public var cipher: String
    /// `SSL_CIPHER_get_bits`.
    public var bits: Int

    public init(version: String, cipher: String, bits: Int) {
        self.version = version
        self.cipher = cipher
        self.bits = bits
    }
}
