import Foundation
import MailLabTestSupport
import Netlink

// Shared by the test targets that make real namespaces (Netlink, Lab). Not a product; it
// lives under Tests/ because it runs `ip` (as the observer): the kit itself never does.

/// Namespace tests need root; they skip themselves otherwise.
public let isRoot = getuid() == 0

/// Deletes `PREFIX-PID-…` namespaces whose test process is gone (a run that crashed).
public func sweepStaleNamespaces(prefix: String) {
    for name in (try? NetworkNamespace.list()) ?? [] where name.hasPrefix(prefix + "-") {
        let parts = name.dropFirst(prefix.count + 1).split(separator: "-")
        guard let first = parts.first, let pid = Int32(first) else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { try? NetworkNamespace.delete(name) }
    }
}

/// Runs an iproute2 command and returns its stdout: tests only, as the independent observer
/// of what the netlink code did.
@discardableResult
public func iproute(_ arguments: String...) throws -> String {
    let process = Process()
    process.executableURL = URL(
        fileURLWithPath: arguments[0] == "bridge" ? ExternalTool.bridge.path : ExternalTool.ip.path)
    process.arguments = Array(arguments[0] == "bridge" ? arguments.dropFirst() : arguments[...])
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
