import Foundation
import Glibc
import MailLabTestSupport
import Synchronization
import Testing

@testable import Reactor

/// Echoes plaintext under TLS started at accept; records the negotiated parameters.
private final class TLSEcho: ConnectionHandler {
    let established: EstablishedBox
    init(established: EstablishedBox) { self.established = established }
    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        connection.write(Array(bytes))
    }
    func inputEnded(on connection: Connection) { connection.close(afterFlush: true) }
    func idle(_ connection: Connection) { connection.close(afterFlush: false) }
    func closed(_ connection: Connection) {}
    func tlsEstablished(_ info: TLSConnectionInfo, on connection: Connection) {
        established.value.withLock { $0.append(info) }
    }
}

@Suite(.requires(.openssl))
struct TLSConnectionTests {
    @Test(
        "2 MiB echoed through TLS by a client that writes faster than it reads", .requires(.python3)
    )
    func echoUnderBackpressure() throws {
        let files = try TestCertificate.make()
        let context = try TLSContext(certificateChain: files.certificate, privateKey: files.key)
        let box = EstablishedBox()
        try withServing(
            handler: { TLSEcho(established: box) },
            prepare: { try? $0.startTLS(context: context) }
        ) { address in
            let script = """
                import socket, ssl, sys, select
                payload = bytes(range(256)) * (2 * 4096)
                s = ssl._create_unverified_context().wrap_socket(
                    socket.create_connection(('127.0.0.1', int(sys.argv[1]))))
                s.setblocking(False)
                sent, got = 0, bytearray()
                while len(got) < len(payload):
                    want_write = [s] if sent < len(payload) else []
                    r, w, _ = select.select([s], want_write, [], 10)
                    if not r and not w and not s.pending():
                        break
                    if w:
                        try:
                            sent += s.send(payload[sent:sent + 65536])
                        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                            pass
                    try:
                        while True:
                            data = s.recv(65536)
                            if not data:
                                break
                            got += data
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        pass
                print(len(got), got == payload, s.version())
                """
            let text = try runToEnd(
                ExternalTool.python3.path, ["-c", script, "\(address.port)"], timeout: 30
            ).output
            #expect(text == "2097152 True TLSv1.3\n")
            let infos = box.value.withLock { $0 }
            #expect(infos.count == 1)
            #expect(infos.first?.version == "TLSv1.3")
            #expect(infos.first.map { !$0.cipher.isEmpty && $0.bits >= 128 } == true)
        }
    }

    @Test("TLSContext errors name the file and the reason")
    func contextErrors() throws {
        let files = try TestCertificate.make()
        let missing = files.directory + "/missing.pem"
        #expect(
            throws: TLSError(
                "cannot read key file", file: missing, reason: "No such file or directory")
        ) {
            try TLSContext(certificateChain: files.certificate, privateKey: missing)
        }
        do {
            _ = try TLSContext(certificateChain: files.key, privateKey: files.key)
            Issue.record("a key file loaded as a certificate")
        } catch {
            #expect(error.operation == "cannot load certificate" && error.file == files.key)
            #expect(error.reason.contains("error:"))
        }
        do {
            _ = try TLSContext(
                certificateChain: files.certificate, privateKey: files.key, ciphers: "NOPE-NOTHING")
            Issue.record("an impossible cipher list was accepted")
        } catch {
            #expect(error.description.hasPrefix("invalid cipher list \"NOPE-NOTHING\": "))
        }
    }
}

/// Carries the loop's record of handshakes to the test thread.
private final class EstablishedBox: Sendable {
    let value = Mutex<[TLSConnectionInfo]>([])
}
