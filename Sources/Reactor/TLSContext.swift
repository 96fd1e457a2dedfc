import COpenSSL
import Glibc
import LinuxSystem

/// A server-side TLS configuration shared by every connection of a listener: certificate
/// chain, private key, TLS 1.2 or later, optional TLS ≤ 1.2 cipher list. Thread-safe
/// (OpenSSL's `SSL_CTX` may create sessions from any thread once configured).
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    /// A client context that verifies the peer: its sessions check the name too.
    let verifies: Bool

    /// Loads `certificateChain` (PEM, leaf first) and `privateKey` (PEM) and checks that
    /// they match. `ciphers` is an OpenSSL cipher string (OpenSMTPD `smtp ciphers`);
    /// `protocols` a libtls protocol list (`listen … protocols`; TLS 1.2 or later without it).
    /// `SSL_CTX_new(TLS_server_method())`, `SSL_CTX_use_certificate_chain_file`,
    /// `SSL_CTX_use_PrivateKey_file`, `SSL_CTX_check_private_key`.
    public init(
        certificateChain: String, privateKey: String, ciphers: String? = nil,
        protocols: String? = nil
    ) throws(TLSError) {
        ERR_clear_error()
        var range = TLSProtocolRange(lowest: 2, highest: 3)
        if let protocols {
            switch TLSProtocolRange.parse(protocols) {
            case .success(let parsed): range = parsed
            case .failure(let error): throw error
            }
        }
        try Self.checkReadable(certificateChain, what: "certificate")
        try Self.checkReadable(privateKey, what: "key")
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.fromQueue("SSL_CTX_new", fallback: "out of memory")
        }
        self.context = context
        verifies = false
        let (lowest, highest) = range.openSSLVersions
        _ = maillab_SSL_CTX_set_min_proto_version(context, lowest)
        _ = maillab_SSL_CTX_set_max_proto_version(context, highest)
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

    /// A client-side configuration (the relay's sessions to next hops): TLS 1.2 or later
    /// unless `options.protocols` says otherwise; the peer's certificate verified only with
    /// `options.verify` (OpenSMTPD's `tls` option: `smtp+tls://` and `smtps://` alone, and a
    /// lab's self-signed certificates, do not verify), against `options.caFile` or OpenSSL's
    /// default paths; a client certificate from `options.certificateChain`/`privateKey`.
    /// `SSL_CTX_new(TLS_client_method())`, `SSL_CTX_set_verify`,
    /// `SSL_CTX_load_verify_locations`, `SSL_CTX_use_certificate_chain_file`.
    public init(client options: TLSClientOptions = TLSClientOptions()) throws(TLSError) {
        ERR_clear_error()
        var range = TLSProtocolRange(lowest: 2, highest: 3)
        if let protocols = options.protocols {
            switch TLSProtocolRange.parse(protocols) {
            case .success(let parsed): range = parsed
            case .failure(let error): throw error
            }
        }
        if let caFile = options.caFile { try Self.checkReadable(caFile, what: "CA") }
        if let chain = options.certificateChain {
            try Self.checkReadable(chain, what: "certificate")
        }
        if let key = options.privateKey { try Self.checkReadable(key, what: "key") }
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.fromQueue("SSL_CTX_new", fallback: "out of memory")
        }
        self.context = context
        let (lowest, highest) = range.openSSLVersions
        _ = maillab_SSL_CTX_set_min_proto_version(context, lowest)
        _ = maillab_SSL_CTX_set_max_proto_version(context, highest)
        _ = SSL_CTX_set_options(
            context, maillab_SSL_OP_NO_RENEGOTIATION | maillab_SSL_OP_NO_COMPRESSION)
        _ = maillab_SSL_CTX_set_mode(
            context,
            maillab_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | maillab_SSL_MODE_RELEASE_BUFFERS)
        verifies = options.verify
        if options.verify {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            let loaded =
                if let caFile = options.caFile {
                    SSL_CTX_load_verify_locations(context, caFile, nil)
                } else {
                    SSL_CTX_set_default_verify_paths(context)
                }
            guard loaded == 1 else {
                throw TLSError.fromQueue(
                    "cannot load CA certificates", file: options.caFile,
                    fallback: "not a PEM certificate")
            }
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        if let chain = options.certificateChain, let key = options.privateKey {
            guard SSL_CTX_use_certificate_chain_file(context, chain) == 1 else {
                throw TLSError.fromQueue(
                    "cannot load certificate", file: chain, fallback: "not a PEM certificate")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.fromQueue(
                    "cannot load key", file: key, fallback: "not a PEM private key")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError.fromQueue(
                    "key does not match certificate", file: key, fallback: "mismatch")
            }
        }
        if let ciphers = options.ciphers, SSL_CTX_set_cipher_list(context, ciphers) != 1 {
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
