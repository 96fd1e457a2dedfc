import Glibc
import SMTPServer
import Testing

/// `MailServer.stop()` ends every session, whatever its client is doing.
@Suite struct ServerStopTests {
    /// `stop()` told a client that had stopped reading `421`, waited two seconds for its close
    /// (which never came: the reply could not be flushed) and then stopped the loops with the
    /// connection still open: its descriptor leaked, and the client never saw the end.
    @Test func stopClosesASessionWhoseClientStoppedReading() throws {
        let directory = try TempDir("stop-unread")
        defer { directory.remove() }
        var options = MailServer.Options()
        options.loops = 1
        let server = try MailServer.catchAll(maildir: directory.path + "/Maildir", options: options)
        try server.start()
        defer { server.stop() }
        let port = try #require(server.addresses.first?.port)
        let client = try LineClient(port: port)
        _ = try client.readReply()
        // Pipeline NOOPs without reading until the server takes none for a whole second.
        client.setSendTimeout(1)
        let batch = [UInt8](String(repeating: "NOOP\r\n", count: 10_000).utf8)
        var sentBatches = 0
        while sentBatches < 1000 {
            let sent = batch.withUnsafeBytes {
                send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { break }
            sentBatches += 1
        }
        #expect(sentBatches < 1000)
        #expect(server.sessionCount == 1)
        server.stop()
        // Drain what the server sent; the connection must then end.
        client.setTimeout(2)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var ended = false
        while true {
            let n = recv(client.fd, &buffer, buffer.count, 0)
            if n > 0 { continue }
            ended = n == 0 || errno == ECONNRESET
            break
        }
        #expect(ended)
    }
}
