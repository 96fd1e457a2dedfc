import Foundation
import MailLabTestSupport
import MailLabTesting
import SMTPConfig
import Testing

@testable import SMTPServer

/// Runs a program with a 30 s limit (coreutils `timeout`); returns status, stdout, stderr.
func runTool(_ program: String, _ arguments: [String], input: String? = nil) throws
    -> (status: Int32, output: String, errors: String)
{
    let result = try runToEnd("/usr/bin/timeout", ["30", program] + arguments, input: input)
    return (result.status, result.output, result.errors)
}

/// An in-memory catch-all server on 127.0.0.1 with TLS in `mode`.
func tlsServer(_ mode: TLSMode, log: MemoryLog = MemoryLog(), idleTimeout: Double = 300)
    throws -> MailServer
{
    let files = try TestCertificate.make()
    var options = MailServer.Options()
    options.loops = 1
    options.serverName = "vm"
    options.log = log.sink
    options.idleTimeoutSeconds = idleTimeout
    options.tls = MailServer.TLSSetting(
        certificate: files.certificate, key: files.key, mode: mode)
    let server = try MailServer.inMemory(options: options)
    try server.start()
    return server
}

extension MailServer {
    var port: UInt16 { addresses[0].port }
}

extension Trait where Self == MailServerTrait {
    /// The `.mailServer` trait as `tlsServer` sets it up: TLS in `mode` with the throw-away
    /// certificate, serving `vm`. Without a certificate (no openssl) the server has no TLS,
    /// and the test's TLS steps fail, saying so.
    static func tlsMailServer(_ mode: TLSMode) -> Self {
        .mailServer(configure: { options in
            options.serverName = "vm"
            if let files = try? TestCertificate.make() {
                options.tls = MailServer.TLSSetting(
                    certificate: files.certificate, key: files.key, mode: mode)
            }
        })
    }
}

/// Debian's python3 (its `ssl` module), not whatever is first on PATH.
let python = ExternalTool.python3.path
