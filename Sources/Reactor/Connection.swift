import CSystem
import Glibc

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
}

/// A non-blocking TCP connection on one loop: reads into the loop's shared scratch buffer,
/// buffers output, and stops reading while too much output is pending (backpressure), so a
/// client that does not read cannot make the server buffer without bound.
public final class Connection: Selectable {
    public let loop: EventLoop
    public let fd: Int32
    public let peer: SocketAddress
    public let local: SocketAddress
    public var handler: (any ConnectionHandler)?

    /// Reading pauses above this much pending output and resumes below `lowWater`.
    public static let highWater = 256 * 1024
    public static let lowWater = 64 * 1024
    /// Reads per readiness event, so one busy client cannot starve the others.
    static let readsPerEvent = 4

    private var token: UInt64 = 0
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var wantsReading = true
    private var inputOpen = true
    private var closingAfterFlush = false
    private var isClosed = false
    private var interest: Interest = []

    private var idleTimeout: UInt64 = 0
    private var lastActivity: UInt64 = 0
    private var idleTimer: LoopTimer?

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
        lastActivity = monotonicNanoseconds()
        interest = .read
        do {
            token = try loop.register(fd, interest: .read, handler: self)
        } catch {
            closeDescriptor(fd)
            isClosed = true
            throw error
        }
        armIdleTimer(after: idleTimeout)
    }

    public var pendingOutput: Int { output.count - outputOffset }

    /// Queues bytes and sends what the socket takes now.
    public func write(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        if pendingOutput == 0 {
            output = bytes
            outputOffset = 0
        } else {
            output.append(contentsOf: bytes)
        }
        flush()
    }

    /// Lets the owner pause reading (for example while a delivery is pending).
    public func setReading(_ enabled: Bool) {
        wantsReading = enabled
        updateInterest()
    }

    /// Closes now, or once pending output is written.
    public func close(afterFlush: Bool = true) {
        guard !isClosed else { return }
        if afterFlush && pendingOutput > 0 {
            closingAfterFlush = true
            updateInterest()
        } else {
            closeNow()
        }
    }

    /// Counts as activity for the idle timer.
    public func touch() { lastActivity = monotonicNanoseconds() }

    public func ready(_ readiness: Readiness) {
        if readiness.writable || (readiness.failed && pendingOutput > 0) { flush() }
        if isClosed { return }
        if readiness.readable || readiness.failed { readAvailable() }
    }

    private func readAvailable() {
        var reads = 0
        while !isClosed && inputOpen && readingAllowed && reads < Self.readsPerEvent {
            reads += 1
            let scratch = loop.readScratch
            let count = Glibc.recv(fd, scratch.baseAddress, scratch.count, 0)
            if count > 0 {
                lastActivity = monotonicNanoseconds()
                handler?.received(UnsafeRawBufferPointer(rebasing: scratch[0..<count]), on: self)
                if count < scratch.count { break }
            } else if count == 0 {
                endInput()
            } else {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { break }
                endInput()
            }
        }
        updateInterest()
    }

    private func endInput() {
        inputOpen = false
        updateInterest()
        handler?.inputEnded(on: self)
    }

    private var readingAllowed: Bool {
        wantsReading && !closingAfterFlush && pendingOutput < Self.highWater
    }

    private func flush() {
        while pendingOutput > 0 && !isClosed {
            let sent = output.withUnsafeBytes { buffer in
                Glibc.send(
                    fd, buffer.baseAddress! + outputOffset, pendingOutput, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                outputOffset += sent
            } else {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { break }
                // The peer is gone; nothing more can be said to it.
                closeNow()
                return
            }
        }
        if pendingOutput == 0 {
            output = []
            outputOffset = 0
            if closingAfterFlush {
                closeNow()
                return
            }
        }
        updateInterest()
    }

    private func updateInterest() {
        guard !isClosed else { return }
        var wanted: Interest = []
        if inputOpen && readingAllowed { wanted.insert(.read) }
        if pendingOutput > 0 { wanted.insert(.write) }
        guard wanted != interest else { return }
        interest = wanted
        do {
            try loop.reregister(fd, token: token, interest: wanted)
        } catch {
            closeNow()
        }
    }

    private func armIdleTimer(after nanoseconds: UInt64) {
        guard idleTimeout > 0 else { return }
        idleTimer = loop.schedule(after: nanoseconds) { [weak self] in
            self?.idleTimerFired()
        }
    }

    private func idleTimerFired() {
        guard !isClosed else { return }
        let now = monotonicNanoseconds()
        let quiet = now &- lastActivity
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
        isClosed = true
        idleTimer?.cancel()
        idleTimer = nil
        loop.deregister(fd, token: token)
        closeDescriptor(fd)
        output = []
        outputOffset = 0
        let owner = handler
        handler = nil
        owner?.closed(self)
    }
}
