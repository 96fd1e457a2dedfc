import Foundation
import MailLabTestSupport
import MailLabTesting
import SMTPConfig
import Testing

@testable import SMTPServer

/// STARTTLS rules over a real socket (a raw Python client that wraps its socket in TLS at
/// the moment it chooses), and `smtpd -n` on pki errors.
@Suite(.requires(.openssl, .python3))
struct TLSSessionTests {
    /// Prints every server line it reads, prefixed `S: `; `C: ` for what it sends.
    private static let rawClient = """
        import socket, ssl, sys
        sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
        state = {'f': sock.makefile('rb')}
        def read_reply():
            while True:
                line = state['f'].readline().decode().rstrip('\\r\\n')
                print('S: ' + line, flush=True)
                if len(line) < 4 or line[3] != '-':
                    return line
        def send(text):
            print('C: ' + text.replace('\\r\\n', '\\\\r\\\\n'), flush=True)
            state['s'].sendall(text.encode())
        state['s'] = sock
        read_reply()
        for step in sys.argv[2:]:
            if step == 'TLS':
                tls = ssl._create_unverified_context().wrap_socket(sock)
                state['s'] = tls
                state['f'] = tls.makefile('rb')
                print('-- TLS ' + tls.version(), flush=True)
            elif step == 'READ':
                read_reply()
            else:
                send(step.replace('\\\\r\\\\n', '\\r\\n'))
        """

    private func converse(_ server: MailServer, _ steps: [String]) throws -> [String] {
        let result = try runTool(python, ["-c", Self.rawClient, "\(server.port)"] + steps)
        #expect(result.status == 0, "\(result.errors)")
        return result.output.split(separator: "\n").map(String.init)
    }

    @Test("STARTTLS\\r\\nRSET\\r\\n in one write: the 220 only; RSET never runs, EHLO needed again")
    func injection() throws {
        let log = MemoryLog()
        let server = try tlsServer(.starttls, log: log)
        defer { server.stop() }
        let lines = try converse(
            server,
            [
                "EHLO x\\r\\n", "READ", "STARTTLS\\r\\nRSET\\r\\n", "READ", "TLS",
                "MAIL FROM:<a@b>\\r\\n", "READ", "EHLO y\\r\\n", "READ", "NOOP\\r\\n", "READ",
            ])
        let server220 = lines.firstIndex(of: "S: 220 2.0.0 Ready to start TLS")
        #expect(server220 != nil)
        #expect(lines.contains("S: 250-STARTTLS"))
        #expect(!lines.contains { $0.contains("Reset state") })
        let afterTLS = lines.drop { !$0.hasPrefix("-- TLS") }
        #expect(
            Array(afterTLS.filter { $0.hasPrefix("S: ") }) == [
                "S: 503 5.5.1 Invalid command: Command not allowed at this point.",
                "S: 250-vm Hello y [127.0.0.1], pleased to meet you",
                "S: 250-8BITMIME", "S: 250-ENHANCEDSTATUSCODES", "S: 250-SIZE 36700160",
                "S: 250-DSN", "S: 250-PIPELINING", "S: 250-CHUNKING", "S: 250-BINARYMIME",
                "S: 250-SMTPUTF8", "S: 250 HELP",
                "S: 250 2.0.0 Ok",
            ])
        #expect(log.lines.contains { $0.contains("smtp tls ciphers=TLSv1.") })
    }

    @Test("tls-require: MAIL before STARTTLS gets 530; after it, 250", .tlsMailServer(.required))
    func tlsRequire() throws {
        let server = try #require(MailServer.current)
        let lines = try converse(
            server,
            [
                "EHLO x\\r\\n", "READ", "MAIL FROM:<a@b>\\r\\n", "READ", "STARTTLS\\r\\n", "READ",
                "TLS", "EHLO x\\r\\n", "READ", "MAIL FROM:<a@b>\\r\\n", "READ", "RSET\\r\\n",
                "READ",
                "STARTTLS\\r\\n", "READ",
            ])
        let replies = lines.filter {
            $0.hasPrefix("S: 5") || $0.hasPrefix("S: 2") && !$0.hasPrefix("S: 250-")
        }
        #expect(
            replies == [
                "S: 220 vm ESMTP MailLab", "S: 250 HELP",
                "S: 530 5.5.1 Invalid command: Must issue a STARTTLS command first",
                "S: 220 2.0.0 Ready to start TLS", "S: 250 HELP", "S: 250 2.0.0 Ok",
                "S: 250 2.0.0 Reset state", "S: 503 5.5.1 Invalid command: Channel already secured",
            ])
    }

    @Test("plaintext sent to an SMTPS port: the handshake fails, the server logs and closes")
    func handshakeFailure() async throws {
        let log = MemoryLog()
        let server = try tlsServer(.smtps, log: log)
        defer { server.stop() }
        let script = """
            import socket, sys
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
            s.sendall(b'EHLO plain\\r\\n')
            data = b''
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            print('closed', len(data), b'220' in data)
            """
        let result = try runTool(python, ["-c", script, "\(server.port)"])
        // At most a TLS alert comes back, never a banner.
        #expect(
            result.output.hasPrefix("closed ") && result.output.hasSuffix(" False\n"),
            "\(result.output)")
        var logged = false
        for _ in 0..<200 where !logged {
            logged = log.lines.contains {
                $0.contains("smtp disconnected reason=io-error: TLS handshake")
            }
            if !logged { usleep(10_000) }
        }
        #expect(logged, "\(log.lines)")
    }
}

@Suite(.requires(.openssl, .smtpd))
struct TLSConfigCheckTests {
    private func check(_ text: String) throws -> (status: Int32, errors: String, path: String) {
        let files = try TestCertificate.make()
        let path = files.directory + "/check-\(UInt32.random(in: 0...UInt32.max)).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runTool(smtpdPath, ["-n", "-f", path])
        return (result.status, result.errors, path)
    }

    private func config(key: String) throws -> String {
        let files = try TestCertificate.make()
        return """
            pki vm cert "\(files.certificate)"
            pki vm key "\(key)"
            listen on 127.0.0.1 port 2599 tls pki vm
            listen on 127.0.0.1 smtps pki vm
            action "local" maildir "\(files.directory)/Maildir"
            match from any for local action "local"

            """
    }

    @Test("smtpd -n: a missing key file is FILE:LINE: with the file and the reason")
    func missingKey() throws {
        let files = try TestCertificate.make()
        let missing = files.directory + "/no-such.key"
        let result = try check(try config(key: missing))
        #expect(result.status == 1)
        #expect(
            result.errors.contains(
                "\(result.path):1: pki vm: cannot read key file \"\(missing)\": No such file or directory"
            ),
            "\(result.errors)")
    }

    @Test("smtpd -n: a good pki with tls and smtps listeners is OK")
    func good() throws {
        let files = try TestCertificate.make()
        let result = try check(try config(key: files.key))
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.errors.contains("configuration OK"))
    }

    @Test("smtpd -n: a certificate that is not PEM names the file and OpenSSL's reason")
    func badCertificate() throws {
        let files = try TestCertificate.make()
        let text = try config(key: files.key).replacing(files.certificate, with: files.key)
        let result = try check(text)
        #expect(result.status == 1)
        #expect(
            result.errors.contains(":1: pki vm: cannot load certificate \"\(files.key)\": error:"),
            "\(result.errors)")
    }

    @Test("auth on a tls listener passes smtpd -n; a credentials file that is missing does not")
    func authChecked() throws {
        let files = try TestCertificate.make()
        let text = try config(key: files.key).replacing("tls pki vm", with: "tls pki vm auth")
        #expect(try check(text).status == 0)
        let missing =
            "table creds \"/nonexistent/maillab-creds\"\n"
            + text.replacing("tls pki vm auth", with: "tls pki vm auth <creds>")
        let result = try check(missing)
        #expect(result.status == 1)
        let line = ":1: table /nonexistent/maillab-creds: open: No such file or directory"
        #expect(result.errors.components(separatedBy: line).count - 1 == 1, "\(result.errors)")
    }
}
