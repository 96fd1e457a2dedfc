import Glibc
import LinuxSystem
import Reactor
import SMTPClient
import SMTPProtocol

/// One connection to a next hop, driving a `RelayClientSession` over a blocking socket: each
/// reply must be complete within the reply timeout (a next hop dripping a byte at a time
/// cannot hold a delivery thread for ever), the handshake within the connect timeout. Used by one delivery thread at a time (`RelayQueue`'s workers),
/// kept open between transactions to the same destination.
final class RelayConnection {
    /// Where a session goes: an address and what the session says.
    struct Endpoint: Sendable, Equatable {
        var host: String
        var port: UInt16
        /// The name its certificate must carry (the URL's host, the MX's name).
        var name: String
        var tls: RelayClientSession.TLSPolicy
        var smtps: Bool
    }

    let endpoint: Endpoint
    private let fd: Int32
    private var session: RelayClientSession
    private let timeout: Double
    /// When the reply being read must be complete (set when the wait for one begins).
    private var replyDeadline: Double?
    private var isOpen = true
    /// The TLS handshake failed (an opportunistic session then starts over in clear).
    private var tlsFailed = false
    /// Set once STARTTLS (or the SMTPS handshake) succeeded: every byte goes through it.
    private var tls: TLSClientSession?
    /// `session.completedReplies` when the reply deadline was last reset.
    private var repliesSeen = 0
    private let tlsContext: TLSContext?

    private init(
        fd: Int32, endpoint: Endpoint, session: RelayClientSession, timeout: Double,
        tlsContext: TLSContext?
    ) {
        self.fd = fd
        self.tlsContext = tlsContext
        self.endpoint = endpoint
        self.session = session
        self.timeout = timeout
    }

    deinit { if isOpen { closeDescriptor(fd) } }

    /// Connects to the first endpoint that answers and greets it (banner, EHLO, STARTTLS when
    /// the policy asks for it). A failure is the reply every recipient gets. An
    /// opportunistic STARTTLS whose handshake fails starts over in clear on a new
    /// connection, as OpenSMTPD's mta does (`MTA_DOWNGRADE_PLAIN`).
    static func open(
        _ endpoints: [Endpoint], heloName: String,
        credentials: RelayClientSession.Credentials? = nil, source: String? = nil,
        tlsContext: TLSContext?, connectTimeout: Double, timeout: Double,
        log: @Sendable (String) -> Void = { _ in }
    ) -> Result<RelayConnection, RelayFailure> {
        var last = RelayFailure(
            reply: SMTPReply(code: 421, lines: ["4.4.1 no address to connect to"]))
        var tries = endpoints.map { ($0, $0.tls) }[...]
        while let (endpoint, tls) = tries.popFirst() {
            let fd: Int32
            do {
                fd = try TCP.connect(
                    host: endpoint.host, port: endpoint.port, timeout: connectTimeout,
                    source: source)
            } catch {
                last = RelayFailure(
                    reply: SMTPReply(code: 421, lines: ["4.4.1 \(error)"]))
                continue
            }
            let connection = RelayConnection(
                fd: fd, endpoint: endpoint,
                session: RelayClientSession(
                    heloName: heloName, tls: endpoint.smtps ? .never : tls,
                    credentials: credentials, secured: endpoint.smtps),
                timeout: timeout, tlsContext: tlsContext)
            if endpoint.smtps, let failure = connection.startTLS(timeout: connectTimeout) {
                last = RelayFailure(reply: failure)
                connection.close()
                continue
            }
            switch connection.drive([]) {
            case .ready: return .success(connection)
            case .failed(let reply):
                last = RelayFailure(reply: reply)
                if connection.tlsFailed && tls == .opportunistic {
                    log(
                        "info: queue: opportunistic TLS with \(endpoint.host) failed, "
                            + "downgrading to plain: \(reply.wireLines.first ?? "")")
                    tries.insert((endpoint, .never), at: tries.startIndex)
                }
            case .finished:
                last = RelayFailure(reply: RelayClientSession.unknown)
            }
            connection.close()
        }
        return .failure(last)
    }

    /// Runs one transaction; the connection stays open for the next one when the next hop
    /// is ready for it afterwards (`isUsable`).
    func send(_ transaction: RelayClientSession.Transaction) -> Result<
        RelayClientSession.TransactionResult, RelayFailure
    > {
        switch drive(session.begin(transaction), content: transaction.content) {
        case .finished(let result, let reusable):
            if !reusable { close() }
            return .success(result)
        case .failed(let reply):
            close()
            return .failure(RelayFailure(reply: reply))
        case .ready:
            close()
            return .failure(RelayFailure(reply: RelayClientSession.unknown))
        }
    }

    /// Open, and the next hop has said nothing since its last reply: an idle session it
    /// closed (FIN) or ended (a 421 out of turn) is not reused.
    var isUsable: Bool {
        guard isOpen else { return false }
        if tls?.hasBufferedInput == true { return false }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = (try? checkedCall("poll") { poll(&entry, 1, 0) }) ?? 1
        return ready == 0
    }

    /// QUIT, then close.
    func quit() {
        guard isOpen else { return }
        _ = drive(session.quit())
        close()
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        closeDescriptor(fd)
    }

    private enum Outcome {
        case ready
        /// A transaction ended; `reusable` when the session is ready for another.
        case finished(RelayClientSession.TransactionResult, reusable: Bool)
        case failed(SMTPReply)
    }

    /// Carries out `events`, then reads and feeds replies until the session is ready, has
    /// finished a transaction, or failed.
    private func drive(_ initial: [RelayClientSession.Event], content: RelayContent? = nil)
        -> Outcome
    {
        var pending = initial[...]
        var finished: RelayClientSession.TransactionResult?
        let closed = SMTPReply(code: 421, lines: ["4.4.2 connection closed"])
        while true {
            while let event = pending.popFirst() {
                switch event {
                case .send(let bytes):
                    if let reason = write(bytes) {
                        pending = session.connectionLost(reason)[...]
                    }
                case .sendContent:
                    if let reason = content.map(writeContent) ?? "no content to send" {
                        pending = session.connectionLost(reason)[...]
                    }
                case .startTLS:
                    if let failure = startTLS(timeout: timeout) {
                        tlsFailed = true
                        return .failed(failure)
                    }
                    pending = session.tlsEstablished()[...]
                case .ready:
                    return finished.map { .finished($0, reusable: true) } ?? .ready
                case .finished(let result):
                    finished = result
                case .failed(let reply):
                    return finished.map { .finished($0, reusable: false) } ?? .failed(reply)
                case .closed:
                    return finished.map { .finished($0, reusable: false) } ?? .failed(closed)
                }
            }
            guard isOpen else {
                return finished.map { .finished($0, reusable: false) } ?? .failed(closed)
            }
            if replyDeadline == nil { replyDeadline = Clock.monotonicSeconds() + timeout }
            let result = read()
            switch result {
            case .success(let bytes) where bytes.isEmpty:
                pending = session.connectionLost("connection closed by \(endpoint.host)")[...]
            case .success(let bytes):
                pending = session.receive(bytes)[...]
                // A complete reply arrived (the session acted on it): the next one gets
                // its own time. A partial one keeps the deadline running.
                if session.completedReplies != repliesSeen {
                    repliesSeen = session.completedReplies
                    replyDeadline = nil
                }
            case .failure(let failure):
                pending = session.connectionLost(failure.text)[...]
            }
        }
    }

    /// The client handshake over the socket; nil when done, else the reply every
    /// recipient gets (a temporary failure: the next attempt may find TLS working).
    private func startTLS(timeout: Double) -> SMTPReply? {
        func failure(_ text: String) -> SMTPReply {
            SMTPReply(
                code: 421, lines: ["4.7.0 TLS handshake with \(endpoint.host) failed: \(text)"])
        }
        guard let tlsContext else { return failure("no TLS context") }
        let engine: TLSClientSession
        do {
            engine = try TLSClientSession(context: tlsContext, hostName: endpoint.name)
        } catch {
            return failure("\(error)")
        }
        replyDeadline = Clock.monotonicSeconds() + timeout
        defer { replyDeadline = nil }
        while true {
            let step = engine.handshake()
            let output = engine.takeOutput()
            if !output.isEmpty, let reason = writeRaw(output) { return failure(reason) }
            switch step {
            case .done:
                tls = engine
                return nil
            case .failed(let reason):
                return failure(reason)
            case .needMoreInput:
                switch readRaw() {
                case .success(let bytes) where bytes.isEmpty: return failure("connection closed")
                case .success(let bytes): engine.feed(bytes)
                case .failure(let error): return failure(error.text)
                }
            }
        }
    }

    /// Writes `bytes` (through TLS once it is on); nil when written, else why not.
    private func write(_ bytes: [UInt8]) -> String? {
        guard let tls else { return writeRaw(bytes) }
        if let reason = tls.write(bytes) { return reason }
        return writeRaw(tls.takeOutput())
    }

    /// Writes `content` stuffed and terminated, a piece at a time (a spooled message is
    /// read from its file as it goes); nil when written, else why not.
    private func writeContent(_ content: RelayContent) -> String? {
        var encoder = DotStuffing.Encoder(loneCRAsLineEnd: true)
        var out: [UInt8] = []
        out.reserveCapacity(RelayContent.piece + RelayContent.piece / 4)
        // The terminator goes in the same write as the last piece: a write of its own would
        // wait for the next hop's delayed ACK of the one before (Nagle), 40 ms a message.
        let failure = content.forEachPiece { piece in
            encoder.encode(piece, into: &out)
            guard out.count >= RelayContent.piece else { return nil }
            defer { out.removeAll(keepingCapacity: true) }
            return write(out)
        }
        if let failure { return failure }
        encoder.finish(into: &out)
        return write(out)
    }

    /// Reads plaintext (through TLS once it is on); empty at the end of the stream.
    private func read() -> Result<[UInt8], ReadFailure> {
        guard let tls else { return readRaw() }
        while true {
            switch tls.read() {
            case .bytes(let bytes): return .success(bytes)
            case .closed: return .success([])
            case .failed(let reason): return .failure(ReadFailure(text: reason))
            case .needMoreInput:
                let output = tls.takeOutput()  // a key update or a ticket answer
                if !output.isEmpty, let reason = writeRaw(output) {
                    return .failure(ReadFailure(text: reason))
                }
                switch readRaw() {
                case .success(let bytes) where bytes.isEmpty: return .success([])
                case .success(let bytes): tls.feed(bytes)
                case .failure(let error): return .failure(error)
                }
            }
        }
    }

    /// nil when written, else why not.
    private func writeRaw(_ bytes: [UInt8]) -> String? {
        var offset = 0
        while offset < bytes.count {
            guard waitFor(Int16(POLLOUT)) else { return "timeout writing to \(endpoint.host)" }
            do {
                let count = try systemCall("send", endpoint.host, blocking: true) {
                    bytes[offset...].withUnsafeBytes {
                        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    }
                }
                offset += count ?? 0
            } catch {
                return "\(error)"
            }
        }
        return nil
    }

    private func readRaw() -> Result<[UInt8], ReadFailure> {
        guard waitFor(Int16(POLLIN)) else {
            return .failure(ReadFailure(text: "timeout waiting for \(endpoint.host)"))
        }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        do {
            let count = try systemCall("recv", endpoint.host, blocking: true) {
                buffer.withUnsafeMutableBytes {
                    Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                }
            }
            // Readable but nothing there (a spurious wake-up): wait again.
            guard let count else { return readRaw() }
            return .success(Array(buffer[..<count]))
        } catch {
            return .failure(ReadFailure(text: "\(error)"))
        }
    }

    private struct ReadFailure: Error { var text: String }

    private func waitFor(_ events: Int16) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let deadline = replyDeadline ?? (Clock.monotonicSeconds() + timeout)
        let ready = try? checkedCall("poll") {
            poll(
                &entry, 1,
                max(0, Int32(((deadline - Clock.monotonicSeconds()) * 1000).rounded(.up))))
        }
        return (ready ?? 0) > 0
    }
}

/// Why nothing could be sent: the reply (real or made up for a connection failure) that
/// every recipient of the attempt gets.
struct RelayFailure: Error, Sendable {
    var reply: SMTPReply
}
