import Foundation
import MailLabTestSupport
import MailLabTesting
import SMTPConfig
import Testing

@testable import SMTPServer

/// The TLS transport under load and silence: big messages (backpressure, plaintext left
/// inside OpenSSL), pipelined commands in one TLS record, a handshake that never comes.
@Suite(.requires(.openssl, .python3))
struct TLSTransportTests {
    @Test(
        "a 3 MB message and a pipelined transaction over STARTTLS arrive intact",
        .tlsMailServer(.starttls))
    func bigAndPipelined() async throws {
        let server = try #require(MailServer.current)
        let script = """
            import smtplib, ssl, sys
            body = ''.join('line %06d ' % i + 'x' * 60 + '\\r\\n' for i in range(42000))
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
            s.starttls(context=ssl._create_unverified_context())
            s.sendmail('a@example.com', ['root@localhost'], 'Subject: big\\r\\n\\r\\n' + body)
            # One TLS write (several 16 KB records) with two whole transactions: the
            # second waits inside OpenSSL while the first is delivered.
            s.ehlo()
            filler = b''.join(b'filler %06d\\r\\n' % i for i in range(4000))
            s.sock.sendall(b'MAIL FROM:<a@b>\\r\\nRCPT TO:<root@localhost>\\r\\nDATA\\r\\n'
                           b'Subject: first\\r\\n\\r\\n' + filler + b'.\\r\\n'
                           b'MAIL FROM:<a@b>\\r\\nRCPT TO:<root@localhost>\\r\\nDATA\\r\\n'
                           b'Subject: piped\\r\\n\\r\\n' + filler + b'second\\r\\n.\\r\\nQUIT\\r\\n')
            replies = []
            f = s.sock.makefile('rb')
            for _ in range(9):
                replies.append(f.readline().decode().split(' ')[0])
            print(' '.join(replies))
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "250 250 354 250 250 250 354 250 221\n", "\(result.errors)")
        let big = try await server.nextMessage(timeout: 20)
        #expect(big.text.contains("with ESMTPS id"))
        #expect(big.text.contains("line 041999 " + String(repeating: "x", count: 60) + "\n"))
        #expect(big.content.count > 42_000 * 72)
        let first = try await server.nextMessage(timeout: 10)
        #expect(first.text.hasSuffix("filler 003999\n"))
        let piped = try await server.nextMessage(timeout: 10)
        #expect(
            piped.text.contains("\nSubject: piped\n") && piped.text.hasSuffix("003999\nsecond\n"))
    }

    @Test("an SMTPS client that never starts the handshake is closed at the idle timeout")
    func handshakeTimeout() throws {
        let log = MemoryLog()
        let server = try tlsServer(.smtps, log: log, idleTimeout: 0.3)
        defer { server.stop() }
        let script = """
            import socket, sys, time
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
            start = time.time()
            data = s.recv(4096)
            print('closed' if data == b'' else 'data', round(time.time() - start) < 5)
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        #expect(result.output == "closed True\n", "\(result.errors)")
        var logged = false
        for _ in 0..<200 where !logged {
            logged = log.lines.contains {
                $0.hasSuffix("smtp disconnected reason=io-error: TLS handshake: timed out")
            }
            if !logged { usleep(10_000) }
        }
        #expect(logged, "\(log.lines)")
    }
}
