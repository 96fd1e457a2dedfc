import CSystem
import DNSMessage
import Glibc
import LinuxSystem

/// Why one exchange with one server gave no answer.
enum DNSTransportFailure: Error {
    case timeout
    /// The server's port is closed (ICMP port unreachable), or TCP was refused.
    case refused
    case system(SystemError)
    case malformed(DNSDecodeError)
    /// Over TCP, a reply with another ID or question than ours.
    case unexpectedReply
}

/// One query to one server: over UDP, and again over TCP when the answer comes back
/// truncated (RFC 1035 §4.2.1, RFC 7766 §5). Blocking, bounded by a deadline on the monotonic
/// clock; sockets are created on the calling thread, so in its network namespace.
enum DNSTransport {
    /// The largest UDP answer read; without EDNS0 a server sends at most 512 bytes.
    static let maximumUDPAnswer = 65535

    static func exchange(
        _ query: DNSMessage, with server: SocketAddress, timeout: Double
    ) throws(DNSTransportFailure) -> (answer: DNSMessage, overTCP: Bool) {
        let bytes = query.encode()
        let deadline = Clock.monotonicSeconds() + timeout
        let answer = try udp(bytes, query: query, server: server, deadline: deadline)
        guard answer.header.isTruncated else { return (answer, false) }
        // The TCP try gets a full timeout of its own: the UDP one may be used up.
        let tcpDeadline = Clock.monotonicSeconds() + timeout
        return (try tcp(bytes, query: query, server: server, deadline: tcpDeadline), true)
    }

    /// A reply answers our query if it is a response with our ID and our question
    /// (RFC 5452 §4.1: anything else is ignored, not taken for the answer).
    static func answers(_ reply: DNSMessage, _ query: DNSMessage) -> Bool {
        reply.header.isResponse && reply.header.id == query.header.id
            && (reply.questions == query.questions
                || (reply.questions.isEmpty && reply.header.responseCode != .noError))
    }

    private static func socket(_ server: SocketAddress, type: Int32) throws(DNSTransportFailure)
        -> Int32
    {
        do {
            return try checkedCall("socket") {
                Glibc.socket(server.family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
            }
        } catch {
            throw .system(error)
        }
    }

    /// Waits for `events` on `fd` until the deadline; false when it passed.
    private static func wait(_ fd: Int32, _ events: Int16, until deadline: Double)
        throws(DNSTransportFailure) -> Bool
    {
        while true {
            let remaining = deadline - Clock.monotonicSeconds()
            if remaining <= 0 { return false }
            var pollfd = Glibc.pollfd(fd: fd, events: events, revents: 0)
            let ready: Int32
            do {
                ready = try checkedCall("poll") {
                    poll(&pollfd, 1, Int32(min(remaining * 1000 + 1, 2_000_000_000)))
                }
            } catch {
                throw .system(error)
            }
            if ready > 0 { return true }
        }
    }

    private static func udp(
        _ bytes: [UInt8], query: DNSMessage, server: SocketAddress, deadline: Double
    ) throws(DNSTransportFailure) -> DNSMessage {
        let fd = try socket(server, type: Int32(SOCK_DGRAM.rawValue))
        defer { closeDescriptor(fd) }
        // Connected: only the server's datagrams arrive, and ICMP errors surface as errno.
        do {
            _ = try checkedCall("connect", "\(server)") {
                server.withSockaddr { Glibc.connect(fd, $0, $1) }
            }
            _ = try checkedCall("send", "\(server)") { send(fd, bytes, bytes.count, 0) }
        } catch {
            throw error.errno == ECONNREFUSED ? .refused : .system(error)
        }
        var buffer = [UInt8](repeating: 0, count: maximumUDPAnswer)
        while try wait(fd, Int16(POLLIN), until: deadline) {
            let count: Int
            do throws(SystemError) {
                guard
                    let received = try systemCall(
                        "recv", "\(server)", blocking: true,
                        {
                            recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                        })
                else { continue }
                count = received
            } catch {
                throw error.errno == ECONNREFUSED ? .refused : .system(error)
            }
            if let reply = try? DNSMessage(decoding: Array(buffer[..<count])) {
                if answers(reply, query) { return reply }
            } else if count >= 12, buffer[2] & 0x82 == 0x82,
                UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == query.header.id
            {
                // Our ID, QR and TC, cut off mid-record: all that matters is to ask over TCP.
                var header = DNSHeader(id: query.header.id)
                header.isResponse = true
                header.isTruncated = true
                return DNSMessage(header: header)
            }
            // Garbage, or an answer to another query: keep waiting for ours.
        }
        throw .timeout
    }

    private static func tcp(
        _ bytes: [UInt8], query: DNSMessage, server: SocketAddress, deadline: Double
    ) throws(DNSTransportFailure) -> DNSMessage {
        let fd = try socket(server, type: Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue))
        defer { closeDescriptor(fd) }
        do {
            let status = server.withSockaddr { Glibc.connect(fd, $0, $1) }
            if status != 0 {
                guard errno == EINPROGRESS || errno == EINTR else {
                    throw SystemError("connect", "\(server) (TCP)", errno: errno)
                }
                guard try wait(fd, Int16(POLLOUT), until: deadline) else {
                    throw DNSTransportFailure.timeout
                }
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                if code != 0 { throw SystemError("connect", "\(server) (TCP)", errno: code) }
            }
            // RFC 1035 §4.2.2: a two-byte length before the message.
            let framed = [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
            var sent = 0
            while sent < framed.count {
                guard try wait(fd, Int16(POLLOUT), until: deadline) else {
                    throw DNSTransportFailure.timeout
                }
                let count = try framed[sent...].withUnsafeBytes { raw throws(SystemError) in
                    try systemCall("send", "\(server) (TCP)", blocking: true) {
                        send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
                    }
                }
                sent += count ?? 0
            }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                if received.count >= 2 {
                    let length = Int(received[0]) << 8 | Int(received[1])
                    if received.count >= 2 + length {
                        let reply: DNSMessage
                        do {
                            reply = try DNSMessage(decoding: Array(received[2..<2 + length]))
                        } catch {
                            throw DNSTransportFailure.malformed(error)
                        }
                        // Over TCP the only reply is ours; anything else is the server's fault.
                        guard answers(reply, query) else {
                            throw DNSTransportFailure.unexpectedReply
                        }
                        return reply
                    }
                }
                guard try wait(fd, Int16(POLLIN), until: deadline) else {
                    throw DNSTransportFailure.timeout
                }
                guard
                    let count = try systemCall(
                        "recv", "\(server) (TCP)", blocking: true,
                        {
                            recv(fd, &buffer, buffer.count, 0)
                        })
                else { continue }
                if count == 0 { throw SystemError("recv", "\(server) (TCP)", errno: ECONNRESET) }
                received += buffer[..<count]
            }
        } catch let failure as DNSTransportFailure {
            throw failure
        } catch let error as SystemError {
            throw error.errno == ECONNREFUSED ? .refused : .system(error)
        } catch {
            throw .system(SystemError("tcp", "\(server)", errno: EIO))
        }
    }
}
