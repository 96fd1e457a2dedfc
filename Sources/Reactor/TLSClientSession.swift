/// The client side of TLS for code that moves the bytes itself (the relay's blocking
/// sessions): ciphertext in with `feed`, out with `takeOutput`; plaintext in with `write`,
/// out with `read`. One thread at a time.
public final class TLSClientSession {
    public enum HandshakeStep: Sendable {
        case done
        /// Send `takeOutput()`, then feed what the peer answers.
        case needMoreInput
        case failed(String)
    }

    public enum ReadStep: Sendable {
        case bytes([UInt8])
        case needMoreInput
        /// close_notify from the peer.
        case closed
        case failed(String)
    }

    private let engine: TLSEngine

    /// `hostName`: the next hop's name (SNI, and what a verifying context checks the
    /// certificate against).
    public init(context: TLSContext, hostName: String? = nil) throws(TLSError) {
        engine = try TLSEngine(context: context, client: true, hostName: hostName)
    }

    /// Ciphertext from the socket.
    public func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { engine.feed($0) }
    }

    /// `SSL_do_handshake`.
    public func handshake() -> HandshakeStep {
        switch engine.handshake() {
        case .done: .done
        case .needMoreInput: .needMoreInput
        case .failed(let error): .failed("\(error)")
        }
    }

    /// Encrypts `plaintext`; the ciphertext waits in `takeOutput`.
    public func write(_ plaintext: [UInt8]) -> String? {
        engine.write(plaintext).map { "\($0)" }
    }

    /// Plaintext that arrived, if any.
    public func read() -> ReadStep {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let step = buffer.withUnsafeMutableBytes { engine.read(into: $0) }
        switch step {
        case .bytes(let count): return .bytes(Array(buffer[..<count]))
        case .needMoreInput: return .needMoreInput
        case .closed: return .closed
        case .failed(let error): return .failed("\(error)")
        }
    }

    /// Ciphertext to send.
    public func takeOutput() -> [UInt8] {
        var bytes: [UInt8] = []
        engine.takeOutput(into: &bytes)
        return bytes
    }

    /// close_notify (its bytes in `takeOutput`).
    public func shutdown() { engine.shutdown() }

    public var info: TLSConnectionInfo { engine.info }

    /// Received bytes not yet read out (a record the peer sent while the session idled).
    public var hasBufferedInput: Bool { engine.hasBufferedInput }
}
