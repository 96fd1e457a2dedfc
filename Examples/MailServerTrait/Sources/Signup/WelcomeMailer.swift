import Glibc

/// The code under test: sends a welcome mail over plain SMTP, as an application would.
public struct WelcomeMailer: Sendable {
    public var port: UInt16
    public var sender = "noreply@app.example"

    public init(port: UInt16) { self.port = port }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends the welcome mail to `address`; returns the server's last reply.
    @discardableResult
    public func welcome(_ address: String, name: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect failed") }
        var reply = try read(fd)
        for line in [
            "EHLO app.example", "MAIL FROM:<\(sender)>", "RCPT TO:<\(address)>", "DATA",
            "Subject: Welcome, \(name)\r\nTo: <\(address)>\r\n\r\nHello \(name)!\r\n.", "QUIT",
        ] {
            let bytes = Array((line + "\r\n").utf8)
            guard write(fd, bytes, bytes.count) == bytes.count else {
                throw Failure(description: "write failed")
            }
            reply = try read(fd)
            if reply.first == UInt8(ascii: "4") || reply.first == UInt8(ascii: "5") {
                throw Failure(description: String(decoding: reply, as: UTF8.self))
            }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// One reply (all its lines), read until a line with a space after the code.
    private func read(_ fd: Int32) throws -> [UInt8] {
        var reply: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(fd, &byte, 1) == 1 {
            reply.append(byte)
            if byte == 10,
                let start = reply.dropLast().lastIndex(of: 10).map({ $0 + 1 }) ?? Optional(0),
                reply.count - start > 4, reply[start + 3] == UInt8(ascii: " ")
            {
                return reply
            }
        }
        throw Failure(description: "connection closed")
    }
}
