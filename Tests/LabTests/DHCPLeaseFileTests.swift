import DHCP
import DHCPClient
import Foundation
import LinuxSystem
import Netlink
import Testing

/// `mlab dhcp` keeps its leases in `dhcp/` of the state directory: saving makes the folder,
/// releasing the last lease takes it away, so a run leaves the state directory as it was.
@Suite struct DHCPLeaseFileTests {
    static let file = DHCPLeaseFile(
        lease: DHCPLease(words: [
            "192.168.178.100/24", "192.168.178.1", "192.168.178.1",
            "02:00:00:00:00:01", "3600",
        ])!,
        applied: DHCPApplied(address: IPPrefix("192.168.178.100/24")!, router: nil))

    @Test func releasingTheLastLeaseRemovesTheDirectorySaveMade() throws {
        let state = try FileSystem.makeTemporaryDirectory(prefix: "mlt-lease")
        defer { FileSystem.removeTree(state) }
        let path = DHCPLeaseFile.path(directory: state + "/dhcp", interface: "yyy", namespace: "b")
        try Self.file.save(to: path)
        #expect(try DHCPLeaseFile.load(path) == Self.file)
        try DHCPLeaseFile.remove(path)
        #expect(!FileSystem.exists(path))
        #expect(!FileSystem.exists(state + "/dhcp"))
        #expect(FileSystem.exists(state))
    }

    @Test func anotherLeaseKeepsTheDirectory() throws {
        let state = try FileSystem.makeTemporaryDirectory(prefix: "mlt-lease")
        defer { FileSystem.removeTree(state) }
        let first = DHCPLeaseFile.path(directory: state + "/dhcp", interface: "yyy", namespace: "b")
        let second = DHCPLeaseFile.path(
            directory: state + "/dhcp", interface: "bbb", namespace: "g")
        try Self.file.save(to: first)
        try Self.file.save(to: second)
        try DHCPLeaseFile.remove(first)
        #expect(!FileSystem.exists(first))
        #expect(try DHCPLeaseFile.load(second) == Self.file)
        try DHCPLeaseFile.remove(second)
        #expect(!FileSystem.exists(state + "/dhcp"))
    }
}
