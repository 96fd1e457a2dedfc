import Foundation
import Glibc
import SMTPClient

/// A plain TCP listener on 127.0.0.1 that answers canned lines: one connection, served on a
/// thread of its own. `answer` gets each received line (without CRLF; DATA content lines
/// until the `.`) and returns the raw lines to send back (CRLF added), or nil to close.
final class FakeServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _received: [String] = []
    /// Sizes of the reads that delivered the received bytes (to see pipelined writes).
    private var _reads: [Int] = []

    var received: [String] { lock.withLock { _received } }
    var reads: [Int] { lock.withLock { _reads } }

    init(banner: String? = "220 fake ESMTP Fake", answer: @escaping @Sendable (String) -> [String]?)
        throws
    {
        let (fd, port) = try TCP.listen(host: "127.0.0.1", port: 0)
        listener = fd
        self.port = port
        Thread { [self] in
            defer { done.signal() }
            guard let (client, _) = try? TCP.accept(fd, timeout: 20) else { return }
            defer { close(client) }
            serve(client, banner: banner, answer: answer)
        }.start()
    }

    private func serve(_ fd: Int32, banner: String?, answer: (String) -> [String]?) {
        if let banner, !send(fd, [banner]) { return }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var inData = false
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { return }
            lock.withLock { _reads.append(count) }
            buffer += chunk[0..<count]
            while let newline = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                lock.withLock { _received.append(text) }
                if inData && text != "." { continue }
                if inData { inData = false }
                guard let reply = answer(text) else { return }
                if reply.first?.hasPrefix("354") == true { inData = true }
                if !send(fd, reply) { return }
                if reply.last?.hasPrefix("221") == true { return }  // QUIT: close, as servers do
            }
        }
    }

    private func send(_ fd: Int32, _ lines: [String]) -> Bool {
        let bytes = Array(lines.map { $0 + "\r\n" }.joined().utf8)
        return bytes.withUnsafeBytes {
            Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
            == bytes.count
    }

    /// Waits for the served connection to end, then closes the listener.
    func finish() {
        _ = done.wait(timeout: .now() + 20)
        close(listener)
    }
}

/// A small SMTP-ish responder for the fake server.
@Sendable func cannedSMTP(_ line: String) -> [String]? {
    let verb = line.prefix { $0 != " " && $0 != ":" }.uppercased()
    switch verb {
    case "EHLO": return ["250-fake Hello", "250-PIPELINING", "250 HELP"]
    case "HELO": return ["250 fake Hello"]
    case "MAIL":
        return line.contains("<") ? ["250 2.0.0 Ok"] : ["553 5.1.0 Sender address syntax error"]
    case "RCPT":
        return line.contains("example.com")
            ? ["550 Invalid recipient: <x@example.com>"]
            : ["250 2.1.5 Destination address valid: Recipient ok"]
    case "DATA": return ["354 Enter mail, end with \".\" on a line by itself"]
    case ".": return ["250 2.0.0 1234abcd Message accepted for delivery"]
    case "RSET": return ["250 2.0.0 Reset state"]
    case "NOOP": return ["250 2.0.0 Ok"]
    case "QUIT": return ["221 2.0.0 Bye"]
    case "SILENT": return []
    case "BYE": return nil
    default: return ["500 5.5.1 Invalid command: Command unrecognized"]
    }
}
