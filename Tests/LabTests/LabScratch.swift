import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import LinuxSystem
import Namespaces
import Netlink
import Testing

/// Renames a lab for one test: every namespace becomes `mlt-PID-TAG-NAME`, and the lab's
/// `host` becomes a namespace of its own, so nothing touches the real host and tests can run
/// side by side. Teardown deletes every namespace with the prefix, even after a failure.
final class LabScratch: @unchecked Sendable {
    let prefix: String

    init() {
        sweepStaleNamespaces(prefix: "mlt")
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

    /// State files of this scratch's labs (up records them under /run/mlab/labs).
    func stateFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: LabState.directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) }
    }

    /// The servers this scratch's labs have running, as their state files record them.
    func servers() -> [LabServerRecord] {
        stateFiles().filter { $0.hasSuffix(".state") }.flatMap { name in
            let text =
                (try? String(contentsOfFile: LabState.directory + "/" + name, encoding: .utf8))
                ?? ""
            return (LabState(text: text)?.servers ?? []).filter(\.isRunning)
        }
    }

    func teardown() {
        for server in servers() { _ = try? server.stop() }
        for name in leftovers() { try? NetworkNamespace.delete(name) }
        for name in stateFiles() { FileSystem.removeTree(LabState.directory + "/" + name) }
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

struct InjectedFault: Error, CustomStringConvertible {
    var index: Int
    var description: String { "injected fault after step \(index)" }
}
