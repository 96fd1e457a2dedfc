import Foundation
import MailLabTesting
import Testing

@testable import SMTPServer

/// BDAT over a real socket: a small Python client sends 100 KiB in pipelined chunks; the
/// Maildir file holds every byte (CRLF stored as LF), and a `no-chunking` listener behaves
/// as OpenSMTPD 6.8 does.
@Suite struct ChunkingClientTests {
    static let client = """
        import socket, sys
        port, size, chunk = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
        line = b'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_~\\r\\n'
        body = b'Subject: bdat\\r\\n\\r\\n' + b'.' + line * (size // len(line))
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        f = s.makefile('rb')
        def reply():
            lines = []
            while True:
                l = f.readline().decode().rstrip('\\r\\n')
                lines.append(l)
                if l[3:4] != '-':
                    return lines
        reply()
        s.sendall(b'EHLO client.example\\r\\n')
        ehlo = reply()
        if '250-CHUNKING' not in ehlo:
            s.sendall(b'MAIL FROM:<a@example.com>\\r\\nRCPT TO:<root@localhost>\\r\\nBDAT 3 LAST\\r\\nabc')
            print('no chunking:', reply()[-1], reply()[-1], reply()[-1])
            sys.exit(0)
        # Everything pipelined in one go: MAIL, RCPT, every chunk.
        out = b'MAIL FROM:<a@example.com> BODY=BINARYMIME\\r\\nRCPT TO:<root@localhost>\\r\\n'
        pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)]
        for i, p in enumerate(pieces):
            last = b' LAST' if i == len(pieces) - 1 else b''
            out += b'BDAT %d%s\\r\\n' % (len(p), last) + p
        s.sendall(out)
        answers = [reply()[-1] for _ in range(2 + len(pieces))]
        s.sendall(b'QUIT\\r\\n')
        reply()
        print(len(pieces), answers[-1].split()[-3:], len(body))
        """

    @Test(
        "100 KiB in pipelined BDAT chunks of 7 KiB: every byte stored, one 250 after LAST",
        .mailServer(store: .temporaryMaildir))
    func hundredKiB() async throws {
        let server = try #require(MailServer.current)
        let result = try runTool(python, ["-c", Self.client, "\(server.port)", "102400", "7168"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.hasPrefix("15 ['accepted', 'for', 'delivery']"), "\(result.output)")
        let message = try await server.nextMessage(timeout: 10)
        let files = message.files
        try #require(files.count == 1)
        let stored = readBytes(files[0])
        #expect(stored == Array(message.content))
        let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_~\n"
        // The local listener adds Date: and Message-ID: after Subject:.
        let expectedBody = "\n\n." + String(repeating: line, count: 102400 / 68)
        let text = String(decoding: stored, as: UTF8.self)
        #expect(text.contains("\nSubject: bdat\n"))
        #expect(text.hasSuffix(expectedBody))
        #expect(text.contains(") with ESMTP id "))
    }

    @Test("a no-chunking listener: no CHUNKING in EHLO, BDAT unrecognized, as OpenSMTPD")
    func switchedOff() throws {
        let directory = try TempDir("bdat-off")
        defer { directory.remove() }
        let server = try SmtpdProcess(
            config: """
                listen on 127.0.0.1 port @PORT@ no-chunking
                action "local" maildir "\(directory.path)/Maildir"
                match from any for local action "local"

                """, directory: directory)
        defer { server.stop() }
        let result = try runTool(python, ["-c", Self.client, "\(server.port)", "1000", "100"])
        #expect(
            result.output
                == "no chunking: 250 2.0.0 Ok 250 2.1.5 Destination address valid: Recipient ok 500 5.5.1 Invalid command: Command unrecognized\n",
            "\(result.errors)")
    }
}
