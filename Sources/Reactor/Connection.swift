import CSystem
import Glibc
import LinuxSystem

/// What a connection tells its owner. Called on the connection's loop.
public protocol ConnectionHandler: AnyObject {
    /// Bytes arrived. The buffer is only valid during the call.
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection)
    /// The peer finished sending (EOF) or the connection failed while reading.
    func inputEnded(on connection: Connection)
    /// No bytes arrived for `idleTimeout`.
    func idle(_ connection: Connection)
    /// The descriptor is closed; drop every reference to the connection.
    func closed(_ connection: Connection)
    /// The TLS handshake `startTLS` began is done; reads and writes are now encrypted.
    func tlsEstablished(_ info: TLSConnectionInfo, on connection: Connection)
    /// The handshake failed or timed out. Nothing more can be said to the peer: close.
    func tlsFailed(_ error: TLSError, on connection: Connection)
}

extension ConnectionHandler {
    public func tlsEstablished(_ info: TLSConnectionInfo, on connection: Connection) {}
    public func tlsFailed(_ error: TLSError, on connection: Connection) {
        connection.close(afterFlush: true)
    }
}

/// A non-blocking TCP connection on one loop: reads into the loop's shared scratch buffer,
/// buffers output, and stops reading while too much output is pending (backpressure), so a
/// client that does not read cannot make the server buffer without bound.
///
/// `startTLS` upgrades it in place (STARTTLS, or at once for SMTPS): ciphertext then flows
/// between the socket and a `TLSEngine`, and the handler still sees plaintext only.
public final class Connection: Selectable {
    public let loop: EventLoop
    public let fd: Int32
    public let peer: SocketAddress
    public let local: SocketAddress
    public var handler: (any ConnectionHandler)?

    /// Reading and handing input to the handler pause once this much output is pending and
    /// resume when it has drained to `lowWater`: a client that pipelines without reading
    /// costs at most these bytes, one `inputSlice`'s replies and one read of held input.
    public static let highWater = 64 * 1024
    public static let lowWater = 16 * 1024
    /// Received bytes go to the handler in slices, the output checked between them: a 64 KiB
    /// read of `HELP` lines would otherwise queue megabytes at once. A slice is this size
    /// after one the handler answered, and doubles (up to `maximumInputSlice`) after one it
    /// did not: message data, which is not answered, goes in few calls.
    static let inputSlice = 1024
    static let maximumInputSlice = 16 * 1024
    /// Reads per readiness event, so one busy client cannot starve the others.
    static let readsPerEvent = 4

    /// Where the connection is in its life. One value instead of a handful of flags: every
    /// change goes through the code that handles it (`endInput`, `close`, `closeNow`).
    private enum Phase {
        /// Reading and writing.
        case open
        /// The peer finished sending (EOF or a read error); output may still go out.
        case inputEnded
        /// The owner said its last word: pending output goes out, then the descriptor closes.
        /// Nothing more is read.
        case draining
        /// The descriptor is closed; nothing happens any more.
        case closed
    }

    /// TLS on this connection, if started.
    private enum Security {
        case plain
        /// The handshake runs; plaintext written meanwhile is held and encrypted once done.
        case handshaking(TLSEngine)
        case established(TLSEngine)
    }

    private var phase = Phase.open
    private var security = Security.plain
    /// Plaintext written during the handshake.
    private var heldForTLS: [UInt8] = []

    private var token: UInt64 = 0
    private var output: [UInt8] = []
    private var outputOffset = 0
    /// The owner's wish (`setReading`), apart from what the phase allows.
    private var wantsReading = true
    /// What epoll is told about this descriptor now.
    private var interest: Interest = []
    private var interestUpdateQueued = false
    private var pumpScheduled = false
    /// Output reached `highWater` and has not drained to `lowWater` yet.
    private var outputPaused = false
    /// Bytes read but not yet handed to the handler (the output paused in mid-read).
    private var heldInput: [UInt8] = []
    private var heldOffset = 0
    private var heldPumpScheduled = false
    /// Bytes the handler has written, ever: tells whether a slice was answered.
    private var writtenByHandler = 0

    private var idleTimeout: UInt64 = 0
    private var lastActivity: UInt64 = 0
    private var idleTimer: LoopTimer?

    private var isClosed: Bool { phase == .closed }
    private var inputOpen: Bool { phase == .open }
    private var closingAfterFlush: Bool { phase == .draining }
    private var tls: TLSEngine? {
        switch security {
        case .plain: nil
        case .handshaking(let engine), .established(let engine): engine
        }
    }
    private var tlsReady: Bool {
        if case .established = security { true } else { false }
    }

    /// Debug builds check that the connection is touched on its loop's thread only.
    @inline(__always)
    private func assertOnLoop() { loop.assertInLoop() }

    /// Takes ownership of `fd`; call `start` on `loop`'s thread.
    public init(fd: Int32, peer: SocketAddress, local: SocketAddress, loop: EventLoop) {
        self.fd = fd
        self.peer = peer
        self.local = local
        self.loop = loop
    }

    /// Registers with the loop. Fails (and closes the descriptor) if epoll refuses it.
    public func start(handler: any ConnectionHandler, idleTimeoutNanoseconds: UInt64)
        throws(SystemError)
    {
        self.handler = handler
        idleTimeout = idleTimeoutNanoseconds
        lastActivity = Clock.monotonicNanoseconds()
        interest = .read
        do {
            token = try loop.register(fd, interest: .read, handler: self)
        } catch {
            closeDescriptor(fd)
            phase = .closed
            throw error
        }
        armIdleTimer(after: idleTimeout)
    }

    public var pendingOutput: Int { output.count - outputOffset }

    /// Queues bytes and sends what the socket takes now (encrypted under TLS; held until
    /// the handshake is done).
    public func write(_ bytes: [UInt8]) {
        assertOnLoop()
        guard !isClosed, !bytes.isEmpty else { return }
        writtenByHandler &+= bytes.count
        if let tls {
            guard tlsReady else {
                heldForTLS.append(contentsOf: bytes)
                return
            }
            if tls.write(bytes) != nil {
                closeNow()
                return
            }
            takeTLSOutput()
        } else if pendingOutput == 0 {
            output = bytes
            outputOffset = 0
        } else {
            output.append(contentsOf: bytes)
        }
        flush()
    }

    /// Starts a server-side TLS handshake on this connection: at once after accept for
    /// SMTPS, or after the `220` to STARTTLS (bytes already queued go out in plaintext
    /// first). The handler hears `tlsEstablished` or `tlsFailed`. Call on the loop.
    public func startTLS(context: TLSContext) throws(TLSError) {
        assertOnLoop()
        guard !isClosed else { return }
        guard tls == nil else { throw TLSError("startTLS", reason: "TLS already started") }
        security = .handshaking(try TLSEngine(context: context))
        lastActivity = Clock.monotonicNanoseconds()
        updateInterest()
    }

    /// True once a TLS handshake has completed on this connection.
    public var isSecure: Bool { tls != nil && tlsReady }

    /// Lets the owner pause reading (for example while a delivery is pending).
    public func setReading(_ enabled: Bool) {
        assertOnLoop()
        wantsReading = enabled
        updateInterest()
        schedulePumpIfBuffered()
    }

    /// Closes now, or once pending output is written (after a TLS close_notify).
    public func close(afterFlush: Bool = true) {
        assertOnLoop()
        guard !isClosed else { return }
        if afterFlush, let tls, tlsReady {
            tls.shutdown()
            takeTLSOutput()
        }
        if afterFlush && pendingOutput > 0 {
            phase = .draining
            updateInterest()
        } else {
            closeNow()
        }
    }

    /// Counts as activity for the idle timer.
    public func touch() { lastActivity = Clock.monotonicNanoseconds() }

    public func ready(_ readiness: Readiness) {
        assertOnLoop()
        if readiness.writable || (readiness.failed && pendingOutput > 0) { flush() }
        if isClosed { return }
        if readiness.readable || readiness.failed { readAvailable() }
        // EPOLLERR/EPOLLHUP cannot be masked: if nothing more will be read to clear them, the
        // level-triggered loop would spin on this descriptor. The peer is gone: close.
        if readiness.failed && !isClosed && !(inputOpen && receiveAllowed) { closeNow() }
    }

    private func readAvailable() {
        var reads = 0
        while !isClosed && inputOpen && receiveAllowed && reads < Self.readsPerEvent {
            reads += 1
            let scratch = loop.readScratch
            let received: Int?
            do {
                received = try systemCall("recv", blocking: true) {
                    Glibc.recv(fd, scratch.baseAddress, scratch.count, 0)
                }
            } catch {
                endInput()
                break
            }
            guard let count = received else { break }
            if count > 0 {
                lastActivity = Clock.monotonicNanoseconds()
                if let tls {
                    tls.feed(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                    pumpTLS()
                    continue
                }
                hand(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                // The handler may have started TLS on this very read (STARTTLS).
                if count < scratch.count && tls == nil { break }
            } else {
                endInput()
            }
        }
        updateInterest()
    }

    private func endInput() {
        if phase == .open { phase = .inputEnded }
        updateInterest()
        handler?.inputEnded(on: self)
    }

    private var readingAllowed: Bool {
        wantsReading && !closingAfterFlush && !outputPaused && heldInput.isEmpty
    }

    /// Hands `bytes` to the handler slice by slice; once the output reaches `highWater`,
    /// keeps the rest until it has drained to `lowWater` (`pumpHeldInput`).
    /// Plaintext after a slice that started TLS (STARTTLS) is dropped, as the session drops
    /// bytes pipelined after STARTTLS.
    private func hand(_ bytes: UnsafeRawBufferPointer) {
        let plain = tls == nil
        var offset = 0
        var slice = Self.inputSlice
        while offset < bytes.count {
            if isClosed || !inputOpen || (plain && tls != nil) { return }
            if outputPaused {
                heldInput = Array(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                heldOffset = 0
                return
            }
            let end = min(offset + slice, bytes.count)
            let written = writtenByHandler
            handler?.received(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), on: self)
            offset = end
            slice = nextSlice(after: slice, answered: writtenByHandler != written)
            if pendingOutput >= Self.highWater { outputPaused = true }
        }
    }

    private func nextSlice(after slice: Int, answered: Bool) -> Int {
        answered ? Self.inputSlice : min(slice * 2, Self.maximumInputSlice)
    }

    /// Hands held input to the handler while the output stays below `highWater`.
    private func pumpHeldInput() {
        let plain = tls == nil
        var slice = Self.inputSlice
        while heldOffset < heldInput.count && !outputPaused && !isClosed && inputOpen {
            if plain && tls != nil {
                heldOffset = heldInput.count
                break
            }
            let end = min(heldOffset + slice, heldInput.count)
            let start = heldOffset
            heldOffset = end
            let written = writtenByHandler
            heldInput.withUnsafeBytes { raw in
                handler?.received(UnsafeRawBufferPointer(rebasing: raw[start..<end]), on: self)
            }
            slice = nextSlice(after: slice, answered: writtenByHandler != written)
            if pendingOutput >= Self.highWater { outputPaused = true }
        }
        if heldOffset >= heldInput.count {
            heldInput = []
            heldOffset = 0
        }
        updateInterest()
        schedulePumpIfBuffered()
    }

    /// Held input is handed on from the loop, not from inside `flush` (which the handler's
    /// own `write` calls).
    private func scheduleHeldInput() {
        guard !heldPumpScheduled, !heldInput.isEmpty, !outputPaused, !isClosed else { return }
        heldPumpScheduled = true
        _ = loop.schedule(after: 0) { [weak self] in
            guard let self else { return }
            self.heldPumpScheduled = false
            self.pumpHeldInput()
        }
    }

    /// Whether to take more bytes from the socket. During the handshake always (the owner
    /// waits for it); under TLS only once the ciphertext already taken is used up, so
    /// memory stays bounded by the scratch buffer.
    private var receiveAllowed: Bool {
        guard let tls else { return readingAllowed }
        if !tlsReady { return !closingAfterFlush }
        return readingAllowed && !tls.hasBufferedInput
    }

    /// Drives the handshake, then hands decrypted bytes to the handler while it reads.
    private func pumpTLS() {
        guard let tls, !isClosed else { return }
        if !tlsReady {
            switch tls.handshake() {
            case .needMoreInput:
                takeTLSOutput()
                flush()
                return
            case .failed(let error):
                takeTLSOutput()  // the alert, if OpenSSL made one
                failTLS(error)
                return
            case .done:
                security = .established(tls)
                takeTLSOutput()
                handler?.tlsEstablished(tls.info, on: self)
                if !heldForTLS.isEmpty && !isClosed {
                    let held = heldForTLS
                    heldForTLS = []
                    write(held)
                }
            }
        }
        while !isClosed && inputOpen && readingAllowed && self.tls === tls {
            let scratch = loop.readScratch
            switch tls.read(into: scratch) {
            case .bytes(let count):
                hand(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            case .needMoreInput:
                takeTLSOutput()
                flush()
                return
            case .closed, .failed:
                takeTLSOutput()
                endInput()
                return
            }
        }
        takeTLSOutput()
        flush()
    }

    private func failTLS(_ error: TLSError) {
        heldForTLS = []
        if let handler {
            handler.tlsFailed(error, on: self)
        } else {
            close(afterFlush: true)
        }
    }

    private func takeTLSOutput() {
        guard let tls, !isClosed else { return }
        if outputOffset > 0 && outputOffset == output.count {
            output = []
            outputOffset = 0
        }
        tls.takeOutput(into: &output)
    }

    /// Decrypted bytes waiting inside OpenSSL raise no epoll event: when reading becomes
    /// allowed again, look at them from the loop.
    private func schedulePumpIfBuffered() {
        guard let tls, tlsReady, !pumpScheduled, !isClosed, readingAllowed, inputOpen,
            tls.hasBufferedInput
        else { return }
        pumpScheduled = true
        _ = loop.schedule(after: 0) { [weak self] in
            guard let self else { return }
            self.pumpScheduled = false
            self.pumpTLS()
            self.updateInterest()
        }
    }

    private func flush() {
        while pendingOutput > 0 && !isClosed {
            let sent: Int?
            do {
                sent = try output.withUnsafeBytes { buffer throws(SystemError) in
                    try systemCall("send", blocking: true) {
                        Glibc.send(
                            fd, buffer.baseAddress! + outputOffset, pendingOutput,
                            Int32(MSG_NOSIGNAL))
                    }
                }
            } catch {
                // The peer is gone; nothing more can be said to it.
                closeNow()
                return
            }
            guard let sent else { break }
            outputOffset += sent
        }
        if pendingOutput == 0 {
            output = []
            outputOffset = 0
            if closingAfterFlush {
                closeNow()
                return
            }
        }
        if outputPaused && pendingOutput <= Self.lowWater {
            outputPaused = false
            scheduleHeldInput()
        }
        updateInterest()
        schedulePumpIfBuffered()
    }

    private var wantedInterest: Interest {
        var wanted: Interest = []
        if inputOpen && receiveAllowed { wanted.insert(.read) }
        if pendingOutput > 0 { wanted.insert(.write) }
        return wanted
    }

    /// The epoll registration follows `wantedInterest` just before the loop waits again, not
    /// at each change: reading switched off for a delivery and on again when it answered in
    /// the same round (no storage, a fast flush) then costs no epoll_ctl at all. Level
    /// triggering makes the delay safe: nothing is lost while the loop is not waiting.
    private func updateInterest() {
        guard !isClosed, !interestUpdateQueued, wantedInterest != interest else { return }
        interestUpdateQueued = true
        loop.beforeWaiting { [self] in
            interestUpdateQueued = false
            guard !isClosed else { return }
            let wanted = wantedInterest
            guard wanted != interest else { return }
            interest = wanted
            do {
                try loop.reregister(fd, token: token, interest: wanted)
            } catch {
                closeNow()
            }
        }
    }

    private func armIdleTimer(after nanoseconds: UInt64) {
        guard idleTimeout > 0 else { return }
        // A strong capture: `closeNow` cancels the timer, and a cancel drops the closure (a
        // weak one gave every connection a side table, and every retain the slow path).
        idleTimer = loop.schedule(after: nanoseconds) { [self] in
            idleTimerFired()
        }
    }

    private func idleTimerFired() {
        guard !isClosed else { return }
        let now = Clock.monotonicNanoseconds()
        let quiet = now &- lastActivity
        if quiet >= idleTimeout && tls != nil && !tlsReady {
            failTLS(TLSError("TLS handshake", reason: "timed out"))
            return
        }
        if quiet >= idleTimeout && closingAfterFlush {
            // The owner has said its last word and the peer takes none of it: give up.
            closeNow()
            return
        }
        if quiet >= idleTimeout {
            handler?.idle(self)
            // The handler may keep the connection (e.g. a delivery is pending): look again later.
            if !isClosed {
                lastActivity = now
                armIdleTimer(after: idleTimeout)
            }
        } else {
            armIdleTimer(after: idleTimeout - quiet)
        }
    }

    private func closeNow() {
        guard !isClosed else { return }
        phase = .closed
        idleTimer?.cancel()
        idleTimer = nil
        loop.deregister(fd, token: token)
        closeDescriptor(fd)
        output = []
        outputOffset = 0
        security = .plain
        heldForTLS = []
        heldInput = []
        let owner = handler
        handler = nil
        owner?.closed(self)
    }
}
