import Foundation
import MailLabTestSupport
import Namespaces
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

/// Runs an iproute2 command (`ip …`, or `bridge …` when the first argument is "bridge") and
/// returns its stdout: tests only, as the independent observer of what the netlink code did.
/// Throws `IprouteError` when the command exits non-zero: a failing observer must not look
/// like an empty answer (before, its status and stderr were dropped).
@discardableResult
public func iproute(_ arguments: String...) throws -> String {
    let result = try run(arguments)
    guard result.status == 0 else {
        throw IprouteError(command: result.command, status: result.status, errors: result.errors)
    }
    return result.output
}

private struct IprouteResult {
    /// The command line, as one would type it.
    let command: String
    let status: Int32
    let output: String
    let errors: String
}

public struct IprouteError: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let errors: String
    public var description: String {
        "\(command): exit status \(status): \(errors.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

private func run(_ arguments: [String]) throws -> IprouteResult {
    let isBridge = arguments.first == "bridge"
    let program = isBridge ? ExternalTool.bridge : ExternalTool.ip
    let rest = Array(isBridge ? arguments.dropFirst() : arguments[...])
    let result = try runToEnd(program.path, rest)
    return IprouteResult(
        command: ([program.name] + rest).joined(separator: " "), status: result.status,
        output: result.output, errors: result.errors)
}
