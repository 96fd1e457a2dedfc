public import ControlProtocol
import Glibc
public import LinuxSystem

/// A connection to smtpd's control socket: one request, one response, blocking, with a
/// deadline. What smtpctl and `mlab lab status` use.
///
/// ```swift
/// let client = try ControlClient(path: "/var/run/smtpd.sock")
/// let response = try client.send(.showStats)
/// ```
public final class ControlClient {
    public let path: String
    private let fd: Int32
    private var decoder = ControlFrameDecoder()

    /// Connects to the socket at `path`; `timeout` bounds each later send and receive.
    ///
    /// Equivalent to: `socat - UNIX-CONNECT:PATH`
    public init(path: String, timeout: Double = 30) throws(ControlClientError) {
        self.path = path
        do {
            fd = try checkedCall("socket", "AF_UNIX") {
                socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            }
        } catch {
            throw .system(error)
        }
        do {
            var time = timeval(
                tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
            for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
                _ = try checkedCall("setsockopt", path) {
                    setsockopt(fd, SOL_SOCKET, option, &time, socklen_t(MemoryLayout<timeval>.size))
                }
            }
            let address = SocketAddress.unix(path: path)
            _ = try address.withSockaddr { pointer, length throws(SystemError) in
                try checkedCall("connect", path) { connect(fd, pointer, length) }
            }
        } catch {
            closeDescriptor(fd)
            throw .system(error)
        }
    }

    deinit { closeDescriptor(fd) }

    /// Sends `request` and waits for its response.
    public func send(_ request: ControlRequest) throws(ControlClientError) -> ControlResponse {
        let frame = ControlFrame.encode(request.encoded())
        do {
            var sent = 0
            while sent < frame.count {
                // MSG_NOSIGNAL: a smtpd gone away is an error here, not a SIGPIPE.
                sent += try checkedCall("send", path) {
                    frame.withUnsafeBytes {
                        Glibc.send(
                            fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
                    }
                }
            }
        } catch {
            // A refused peer is told why and closed at once: the reason may be waiting even
            // though the write failed.
            if let response = try? receive() { return response }
            throw .system(error)
        }
        return try receive()
    }

    private func receive() throws(ControlClientError) -> ControlResponse {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count: Int
            do {
                count = try checkedCall("read", path) {
                    buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                }
            } catch {
                throw error.errno == EAGAIN ? .timedOut(path) : .system(error)
            }
            guard count > 0 else { throw .closed(path) }
            do {
                if let frame = try decoder.feed(buffer[..<count]).first {
                    return try ControlResponse(decoding: frame)
                }
            } catch {
                throw .protocolError(error)
            }
        }
    }
}

/// Why a control request got no answer.
public enum ControlClientError: Error, CustomStringConvertible {
    case system(SystemError)
    case timedOut(String)
    case closed(String)
    case protocolError(ControlProtocolError)

    public var description: String {
        switch self {
        case .system(let error):
            if error.operation == "connect"
                && (error.errno == ENOENT || error.errno == ECONNREFUSED)
            {
                return "\(error) (is smtpd running?)"
            }
            return "\(error)"
        case .timedOut(let path): return "\(path): no answer from smtpd"
        case .closed(let path): return "\(path): smtpd closed the connection without an answer"
        case .protocolError(let error): return "unreadable answer from smtpd: \(error)"
        }
    }
}
