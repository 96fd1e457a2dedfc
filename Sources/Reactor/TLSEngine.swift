import COpenSSL

/// One TLS session (server side, or client side for the relay) over memory BIOs: the connection moves ciphertext between
/// the socket and the BIOs itself, so every send keeps `MSG_NOSIGNAL` and no OpenSSL call
/// ever touches the descriptor. Loop-confined, like its connection.
final class TLSEngine {
    enum HandshakeStep {
        case done
        case needMoreInput
        case failed(TLSError)
    }

    enum ReadStep {
        case bytes(Int)
        case needMoreInput
        /// The peer sent close_notify.
        case closed
        case failed(TLSError)
    }

    private let ssl: OpaquePointer
    /// Ciphertext from the peer; owned by `ssl`.
    private let input: OpaquePointer
    /// Ciphertext for the peer; owned by `ssl`.
    private let output: OpaquePointer

    /// `SSL_new` + two `BIO_s_mem` + `SSL_set_accept_state` (`SSL_set_connect_state` for a
    /// client).
    /// `hostName` (a client's peer): sent as SNI unless it is an address, and the name the
    /// certificate must carry when the context verifies (`SSL_set1_host`).
    init(context: TLSContext, client: Bool = false, hostName: String? = nil) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else {
            throw TLSError.fromQueue("SSL_new", fallback: "out of memory")
        }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.fromQueue("BIO_new", fallback: "out of memory")
        }
        SSL_set_bio(ssl, input, output)
        if client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
        if client, let hostName {
            let isAddress =
                hostName.contains(":") || hostName.allSatisfy { $0.isNumber || $0 == "." }
            if !isAddress { _ = maillab_SSL_set_tlsext_host_name(ssl, hostName) }
            if context.verifies {
                let set =
                    isAddress
                    ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), hostName)
                    : SSL_set1_host(ssl, hostName)
                guard set == 1 else {
                    SSL_free(ssl)
                    throw TLSError.fromQueue("SSL_set1_host", fallback: "invalid name \(hostName)")
                }
            }
        }
        self.ssl = ssl
        self.input = input
        self.output = output
    }

    deinit { SSL_free(ssl) }

    /// Ciphertext received from the socket.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        // A memory BIO takes everything.
        _ = BIO_write(input, base, Int32(bytes.count))
    }

    /// Plaintext or record bytes not yet handed out: epoll cannot announce these, since
    /// they are no longer in the socket.
    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 || maillab_BIO_pending(input) > 0 }

    /// `SSL_do_handshake`.
    func handshake() -> HandshakeStep {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return .needMoreInput }
        let failure = TLSError.fromQueue("TLS handshake", fallback: "connection reset")
        // OpenSSL's queue says only "certificate verify failed"; the chain's result says why.
        let verdict = SSL_get_verify_result(ssl)
        if verdict != X509_V_OK {
            let why = String(cString: X509_verify_cert_error_string(verdict))
            return .failed(TLSError("certificate verification", reason: why))
        }
        return .failed(failure)
    }

    /// `SSL_read` into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadStep {
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if count > 0 { return .bytes(Int(count)) }
        let code = SSL_get_error(ssl, count)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return .needMoreInput }
        if code == SSL_ERROR_ZERO_RETURN { return .closed }
        return .failed(TLSError.fromQueue("SSL_read", fallback: "connection reset"))
    }

    /// `SSL_write` of all of `bytes` (a memory BIO never pushes back).
    func write(_ bytes: [UInt8]) -> TLSError? {
        ERR_clear_error()
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                SSL_write(
                    ssl, buffer.baseAddress! + offset, Int32(min(bytes.count - offset, 1 << 30)))
            }
            guard written > 0 else {
                return TLSError.fromQueue("SSL_write", fallback: "write failed")
            }
            offset += Int(written)
        }
        return nil
    }

    /// Sends close_notify (`SSL_shutdown`, not waiting for the peer's).
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Moves the ciphertext OpenSSL produced onto the end of `bytes`.
    func takeOutput(into bytes: inout [UInt8]) {
        let pending = maillab_BIO_pending(output)
        guard pending > 0 else { return }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: pending))
        let read = bytes.withUnsafeMutableBytes { buffer in
            BIO_read(output, buffer.baseAddress! + start, Int32(pending))
        }
        bytes.removeLast(pending - Int(max(0, read)))
    }

    var info: TLSConnectionInfo {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl)
        let name = cipher.flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
        let bits = cipher.map { Int(SSL_CIPHER_get_bits($0, nil)) } ?? 0
        return TLSConnectionInfo(version: version, cipher: name, bits: bits)
    }
}
