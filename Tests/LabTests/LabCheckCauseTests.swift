import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import Namespaces
import Netlink
import Testing

/// `check` names the cause of each failing cell, found by walking the path the file implies
/// through the kernel's state; one test per hand-made breakage of the daisy lab.
@Suite(.enabled(if: isRoot, "needs root"))
struct LabCheckCauseTests {
    /// Brings daisy up, breaks it with `breakage`, checks, and returns the cause of the cell
    /// gruen → rot 20.0.0.2 and the printed matrix.
    func causeAfter(_ breakage: (LabScratch) throws -> Void) async throws -> (String?, String) {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try scratch.load("daisy")
        _ = try Lab.up(spec)
        try breakage(scratch)
        let result = try await Lab.check(spec, timeoutMilliseconds: 200)
        #expect(!result.passed)
        let cell = result.probes.first {
            $0.source == scratch.name("gruen") && $0.address == IPAddress("20.0.0.2")
        }
        #expect(cell?.expected == true && cell?.actual == false)
        let matrix = result.matrix(namespaceName: spec.renaming.fileName(ofNamespace:))
        _ = try Lab.down(spec)
        return (cell?.cause, matrix)
    }

    @Test func forwardingTurnedOffByHand() async throws {
        let (cause, matrix) = try await causeAfter { scratch in
            try NetworkNamespace.setForwarding(
                Forwarding(ipv4: false, ipv6: false), in: scratch.name("blau"))
        }
        #expect(cause == "forwarding off in blau")
        #expect(matrix.contains("gruen -> rot:20.0.0.2: forwarding off in blau"), "\(matrix)")
        #expect(!matrix.contains("mlt-"), "the file's names: \(matrix)")
    }

    @Test(arguments: [("rot", "fff"), ("blau", "eee")])
    func linkDownOnEitherEnd(namespace: String, link: String) async throws {
        let (cause, _) = try await causeAfter { scratch in
            try NetlinkHandle(namespace: scratch.name(namespace)).setDown(link)
        }
        #expect(cause == "\(link)@\(namespace) is down")
    }

    @Test func routeDeletedByHand() async throws {
        let (cause, _) = try await causeAfter { scratch in
            try NetlinkHandle(namespace: scratch.name("gruen")).deleteRoute(
                IPPrefix("20.0.0.0/24"), via: IPAddress("10.0.0.1"))
        }
        #expect(cause == "no route in gruen to 20.0.0.0/24 (line 23)")
    }

    @Test func endMovedToTheWrongNamespace() async throws {
        let (cause, matrix) = try await causeAfter { scratch in
            try NetlinkHandle(namespace: scratch.name("blau")).moveLink(
                "ddd", toNamespace: scratch.name("rot"))
        }
        #expect(cause == "ddd@blau is in rot, not in blau")
        // ddd's address went with the move: its column is still printed, as failures.
        #expect(matrix.contains("blau:10.0.0.1"), "\(matrix)")
    }

    @Test func addressMissingStillPrintsTheMatrix() async throws {
        let (cause, matrix) = try await causeAfter { scratch in
            try NetlinkHandle(namespace: scratch.name("rot")).deleteAddress(
                IPPrefix("20.0.0.2/24")!, from: "fff")
        }
        #expect(cause == "address 20.0.0.2/24 missing on fff@rot (line 22)")
        #expect(matrix.contains("rot:20.0.0.2"), "\(matrix)")
        #expect(matrix.split(separator: "\n").count > 4, "\(matrix)")
    }
}
