import Glibc
import LinuxSystem
import Synchronization

/// A next hop on loopback that does what a test tells it, byte by byte: each accepted
/// connection runs `handler` on a thread of its own. Counts connections; `stop` closes the
/// listener and every connection and waits for the threads.
final class RawNextHop: Sendable {
    /// One accepted connection, for the handler.
    struct Peer: Sendable {
        let fd: Int32

        /// False once the relay went away.
        @discardableResult func write(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                == bytes.count
        }

        /// One line without its CRLF; nil at the end of the stream.
        func readLine() -> String? {
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while recv(fd, &byte, 1, 0) == 1 {
                if byte == 10 {
                    if line.last == 13 { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                line.append(byte)
            }
            return nil
        }
    }

    let port: UInt16
    private let listener: Int32
    private let state = Mutex<(accepted: Int, open: [Int32], threads: Int, stopped: Bool)>(
        (0, [], 0, false))

    init(_ handler: @escaping @Sendable (Peer) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw SystemError("bind", "127.0.0.1", errno: errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        listener = fd
        state.withLock { $0.threads += 1 }
        _ = try SystemThread.start(name: "raw-next-hop", detached: true) { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { break }
                let go = state.withLock { s -> Bool in
                    guard !s.stopped else { return false }
                    s.accepted += 1
                    s.open.append(client)
                    s.threads += 1
                    return true
                }
                guard go else {
                    close(client)
                    break
                }
                do {
                    _ = try SystemThread.start(name: "raw-peer", detached: true) { [self] in
                        handler(Peer(fd: client))
                        state.withLock { $0.threads -= 1 }
                    }
                } catch {
                    state.withLock { $0.threads -= 1 }
                }
            }
            state.withLock { $0.threads -= 1 }
        }
    }

    var accepted: Int { state.withLock { $0.accepted } }

    func stop() {
        let open = state.withLock { s -> [Int32] in
            s.stopped = true
            return s.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        let deadline = Clock.monotonicSeconds() + 5
        while state.withLock({ $0.threads > 0 }) && Clock.monotonicSeconds() < deadline {
            Clock.sleep(seconds: 0.01)
        }
        close(listener)
        for fd in open { close(fd) }
    }

    /// Serves one SMTP transaction per MAIL; `afterMessage` is written `delay` seconds after
    /// each 250 (then the connection is closed when `closeAfter`).
    static func smtp(
        messages: Counter, afterMessage: String = "", delay: Double = 0, closeAfter: Bool = false
    )
        -> @Sendable (Peer) -> Void
    {
        { peer in
            peer.write("220 raw.lab ESMTP\r\n")
            while let line = peer.readLine() {
                let verb = line.prefix(4).uppercased()
                switch verb {
                case "EHLO", "HELO": peer.write("250 raw.lab\r\n")
                case "MAIL", "RCPT", "RSET": peer.write("250 2.0.0 Ok\r\n")
                case "QUIT":
                    peer.write("221 2.0.0 Bye\r\n")
                    return
                case "DATA":
                    peer.write("354 go\r\n")
                    while let body = peer.readLine(), body != "." {}
                    messages.add()
                    peer.write("250 2.0.0 queued\r\n")
                    if delay > 0 { Clock.sleep(seconds: delay) }
                    if !afterMessage.isEmpty { peer.write(afterMessage) }
                    if closeAfter {
                        shutdown(peer.fd, Int32(SHUT_RDWR))
                        return
                    }
                default: peer.write("502 5.5.2 what\r\n")
                }
            }
        }
    }
}

/// A count shared between a handler thread and the test.
final class Counter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}
