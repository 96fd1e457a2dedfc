import NamespaceTestSupport
import Foundation
import Glibc
import Namespaces
import Netlink
import Testing

/// Throw-away namespaces for one test: names `mlt-PID-RANDOM`, deleted by `teardown()` even
/// when the test fails. Stale ones (from a process that no longer runs) are swept first.
final class Scratch: @unchecked Sendable {
    let tag: String
    private(set) var namespaces: [String] = []

    init() {
        sweepStaleNamespaces(prefix: "mlt")
        tag = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }

    /// A new namespace name, registered for teardown before it exists.
    func namespaceName(_ role: String) -> String {
        let name = "mlt-\(getpid())-\(tag)-\(role)"
        namespaces.append(name)
        return name
    }

    /// Creates and registers a namespace.
    func namespace(_ role: String) throws -> String {
        let name = namespaceName(role)
        try NetworkNamespace.add(name)
        return name
    }

    /// An interface name of at most 15 bytes, unique to this test.
    func interface(_ role: String) -> String { String("t\(tag)\(role)".prefix(15)) }

    func teardown() {
        for name in namespaces where NetworkNamespace.exists(name) {
            try? NetworkNamespace.delete(name)
        }
    }

}

/// Runs `body` with a scratch set whose teardown is registered before anything is created.
func withScratch(_ body: (Scratch) throws -> Void) throws {
    let scratch = Scratch()
    defer { scratch.teardown() }
    try body(scratch)
}

/// The inode of the calling thread's network namespace.
func currentThreadNamespaceInode() -> UInt64 {
    var info = stat()
    stat("/proc/thread-self/ns/net", &info)
    return UInt64(info.st_ino)
}
