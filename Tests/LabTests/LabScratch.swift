import Foundation
import Glibc
import Lab
import Netlink
import Testing

let isRoot = getuid() == 0

/// Renames a lab for one test: every namespace becomes `mlt-PID-TAG-NAME`, and the lab's
/// `host` becomes a namespace of its own, so nothing touches the real host and tests can run
/// side by side. Teardown deletes every namespace with the prefix, even after a failure.
final class LabScratch: @unchecked Sendable {
    let prefix: String

    init() {
        LabScratch.sweepStale()
        let tag = String(
            (0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        prefix = "mlt-\(getpid())-\(tag)-"
    }

    var renaming: LabRenaming {
        LabRenaming(namespacePrefix: prefix, hostNamespace: prefix + "host")
    }

    func name(_ namespace: String) -> String {
        namespace == "host" ? prefix + "host" : prefix + namespace
    }

    func load(_ lab: String) throws -> LabSpec {
        let path = confDirectory + "/lab-\(lab).conf"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try LabParser.parse(text, file: path, renaming: renaming)
    }

    /// Namespaces of this scratch that exist.
    func leftovers() -> [String] {
        ((try? NetworkNamespace.list()) ?? []).filter { $0.hasPrefix(prefix) }
    }

    func teardown() {
        for name in leftovers() { try? NetworkNamespace.delete(name) }
    }

    static func sweepStale() {
        for name in (try? NetworkNamespace.list()) ?? [] where name.hasPrefix("mlt-") {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, let pid = Int32(parts[1]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? NetworkNamespace.delete(name) }
        }
    }
}

let confDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("conf").path

func withLabScratch(_ body: (LabScratch) throws -> Void) throws {
    let scratch = LabScratch()
    defer { scratch.teardown() }
    try body(scratch)
}

/// Runs an iproute2 command (tests only: the independent observer) and returns its stdout.
@discardableResult
func iproute(_ arguments: String...) throws -> String {
    let process = Process()
    process.executableURL = URL(
        fileURLWithPath: arguments[0] == "bridge" ? "/usr/sbin/bridge" : "/usr/sbin/ip")
    process.arguments = Array(arguments[0] == "bridge" ? arguments.dropFirst() : arguments[...])
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

struct InjectedFault: Error, CustomStringConvertible {
    var index: Int
    var description: String { "injected fault after step \(index)" }
}
