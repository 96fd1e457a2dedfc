import Foundation
import MailLabTestSupport
import SMTPConfig
import Testing

@testable import SMTPServer

/// Runs a program with a 30 s limit (coreutils `timeout`); returns status, stdout, stderr.
func runTool(_ program: String, _ arguments: [String], input: String? = nil) throws
    -> (status: Int32, output: String, errors: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["30", program] + arguments
    let output = Pipe()
    let errors = Pipe()
    let standardInput = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = standardInput
    try process.run()
    if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
    try standardInput.fileHandleForWriting.close()
    // Read both pipes concurrently so neither can fill up and stall the child.
    let errorData = Mutex2()
    let reader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errorData.isSet { usleep(1000) }
    return (
        process.terminationStatus, String(decoding: outputData, as: UTF8.self),
        String(decoding: errorData.value, as: UTF8.self)
    )
}

/// A one-shot box for the stderr reader thread.
final class Mutex2: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
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

/// Debian's python3 (its `ssl` module), not whatever is first on PATH.
let python = ExternalTool.python3.path
