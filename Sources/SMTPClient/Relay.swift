import Glibc
import LinuxSystem

/// How `Relay.run` treats the two streams.
public struct RelayOptions: Sendable {
    /// Turn every LF from the input that is not already preceded by CR into CRLF (`nc -C`).
    public var crlf = false
    /// End the relay after this many seconds without traffic either way (`nc -w`).
    public var idleTimeout: Double?

    public init(crlf: Bool = false, idleTimeout: Double? = nil) {
        self.crlf = crlf
        self.idleTimeout = idleTimeout
    }
}

/// Why a relay ended.
public enum RelayEnd: Sendable, Equatable {
    /// Both directions finished (input EOF sent as a half-close, and the peer closed).
    case finished
    /// The peer closed first; input that was already waiting was still sent.
    case peerClosed
    /// Nothing moved for `idleTimeout` seconds.
    case idle
}

/// netcat's job: bytes from `input` to a socket, bytes from the socket to `output`, with
/// poll(2) on two descriptors in the calling thread (no Swift concurrency: the thread may
/// block in poll and write).
public enum Relay {
    /// Relays until both sides are done. Input EOF → `shutdown(SHUT_WR)` and keep reading until
    /// the peer closes (netcat-openbsd with `-N`). Peer EOF first → whatever input is ready
    /// right now is still sent, then the relay ends (an interactive user is not left typing
    /// into a closed connection). The socket is not closed here.
    ///
    /// Equivalent to: the read/write loop of `nc -N`.
    public static func run(
        socket: Int32, input: Int32 = 0, output: Int32 = 1, options: RelayOptions = RelayOptions()
    ) throws(ClientError) -> RelayEnd {
        var inputOpen = true
        var lastInputByte: UInt8 = 0
        var buffer = [UInt8](repeating: 0, count: 16384)
        let idleMilliseconds = options.idleTimeout.map { Int32(($0 * 1000).rounded(.up)) } ?? -1

        /// Reads input once and forwards it; false at input EOF or when the peer is gone.
        func forwardInput() throws(ClientError) -> Bool {
            let read: Int?
            do {
                read = try systemCall("read", "input", blocking: true) {
                    buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
                }
            } catch {
                throw .system(error)
            }
            guard let count = read else { return true }
            if count == 0 {
                inputOpen = false
                shutdown(socket, Int32(SHUT_WR))
                return false
            }
            var chunk = Array(buffer[0..<count])
            if options.crlf {
                chunk = addingCR(chunk, previous: lastInputByte)
            }
            lastInputByte = buffer[count - 1]
            return try writeAll(socket, chunk, isSocket: true)
        }

        while true {
            var fds = [
                pollfd(fd: inputOpen ? input : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            ]
            let ready: Int32
            do {
                ready = try checkedCall("poll") { poll(&fds, 2, idleMilliseconds) }
            } catch {
                throw .system(error)
            }
            if ready == 0 { return .idle }
            if fds[1].revents != 0 {
                // A failed read (a reset) ends the peer's side like EOF.
                let count =
                    (try? checkedCall("read") {
                        buffer.withUnsafeMutableBytes {
                            Glibc.read(socket, $0.baseAddress, $0.count)
                        }
                    }) ?? 0
                if count == 0 {
                    // EOF or reset: the peer is done sending.
                    guard inputOpen else { return .finished }
                    while inputOpen, try wait(input, for: Int16(POLLIN), timeout: 0) {
                        if !(try forwardInput()) { break }
                    }
                    return .peerClosed
                }
                _ = try writeAll(output, Array(buffer[0..<count]), isSocket: false)
            }
            if inputOpen && fds[0].revents != 0 {
                if !(try forwardInput()) && inputOpen { return .peerClosed }
            }
        }
    }

    /// Inserts CR before each LF not already preceded by one (`previous`: the byte before).
    public static func addingCR(_ bytes: [UInt8], previous: UInt8 = 0) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 20 + 1)
        var last = previous
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && last != UInt8(ascii: "\r") {
                out.append(UInt8(ascii: "\r"))
            }
            out.append(byte)
            last = byte
        }
        return out
    }

    /// Writes everything; false when the peer is gone (EPIPE/ECONNRESET on the socket).
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], isSocket: Bool) throws(ClientError)
        -> Bool
    {
        var offset = 0
        while offset < bytes.count {
            do throws(SystemError) {
                offset += try checkedCall(isSocket ? "send" : "write", isSocket ? nil : "output") {
                    bytes[offset...].withUnsafeBytes { raw in
                        isSocket
                            ? send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
                            : write(fd, raw.baseAddress, raw.count)
                    }
                }
            } catch  where isSocket && (error.errno == EPIPE || error.errno == ECONNRESET) {
                return false
            } catch {
                throw .system(error)
            }
        }
        return true
    }
}
