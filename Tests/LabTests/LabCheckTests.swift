import NamespaceTestSupport
import Foundation
import Glibc
import Namespaces
import Netlink
import Testing

@testable import Lab

@Suite(.enabled(if: isRoot, "needs root"))
struct LabCheckTests {
    @Test(arguments: ["seed", "daisy", "bridge"])
    func everyLabPassesCheck(lab: String) async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try scratch.load(lab)
        _ = try Lab.up(spec)
        let result = try await Lab.check(spec)
        #expect(result.passed, "\(result.matrix())")
        #expect(result.probes.contains { $0.expected && $0.actual == true })
        _ = try Lab.down(spec)
        #expect(scratch.leftovers().isEmpty)
    }

    static let chain = """
        netns a
        netns b forward
        netns c
        veth x@a y@b
        veth z@b w@c
        addr x@a 10.0.0.2/24
        addr y@b 10.0.0.1/24
        addr z@b 20.0.0.1/24
        addr w@c 20.0.0.2/24
        route a 20.0.0.0/24 via 10.0.0.1

        """

    @Test func reachabilityModelFollowsRoutesAndForwarding() throws {
        let full = try LabParser.parse(
            Self.chain + "route c 10.0.0.0/24 via 20.0.0.1\n", file: "t.conf")
        let model = LabReachability(full)
        #expect(model.reaches(from: "a", to: IPAddress("20.0.0.2")!))
        #expect(model.reaches(from: "c", to: IPAddress("10.0.0.2")!))
        // b's far address is local to b: reached without forwarding.
        #expect(model.reaches(from: "a", to: IPAddress("20.0.0.1")!))

        // Without the way back, the SYN arrives but the SYN-ACK cannot return.
        let oneWay = LabReachability(try LabParser.parse(Self.chain, file: "t.conf"))
        #expect(!oneWay.reaches(from: "a", to: IPAddress("20.0.0.2")!))
        #expect(!oneWay.reaches(from: "c", to: IPAddress("10.0.0.2")!))

        let noForward = try LabParser.parse(
            Self.chain.replacingOccurrences(of: "netns b forward", with: "netns b")
                + "route c 10.0.0.0/24 via 20.0.0.1\n",
            file: "t.conf")
        #expect(!LabReachability(noForward).reaches(from: "a", to: IPAddress("20.0.0.2")!))
        #expect(LabReachability(noForward).reaches(from: "a", to: IPAddress("10.0.0.1")!))
    }

    @Test func daisyListenerInRotIsReachedFromGruenOnlyWhileBlauForwards() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try scratch.load("daisy")
        _ = try Lab.up(spec)
        let rot = scratch.name("rot")
        let gruen = scratch.name("gruen")
        let blau = scratch.name("blau")
        do {
            let listener = try LabProbe.listen(in: rot, address: IPAddress("20.0.0.2")!, port: 9999)
            #expect(listener.port == 9999)
            #expect(try LabProbe.connect(from: gruen, to: IPAddress("20.0.0.2")!, port: 9999))

            try NetworkNamespace.setForwarding(Forwarding(ipv4: false, ipv6: false), in: blau)
            #expect(
                !(try LabProbe.connect(
                    from: gruen, to: IPAddress("20.0.0.2")!, port: 9999, timeoutMilliseconds: 300)))
            // blau's own address on rot's side is still reached: that needs no forwarding.
            let inBlau = try LabProbe.listen(in: blau, address: IPAddress("20.0.0.1")!, port: 9999)
            #expect(
                try LabProbe.connect(
                    from: gruen, to: inBlau.address, port: 9999, timeoutMilliseconds: 300))

            let check = try await Lab.check(spec)
            #expect(!check.passed)
            #expect(
                check.probes.contains {
                    $0.source == gruen && $0.address == IPAddress("20.0.0.2") && $0.actual == false
                })
            #expect(try Lab.status(spec).items.contains { $0.state == .missing })

            try NetworkNamespace.setForwarding(Forwarding(ipv4: true, ipv6: true), in: blau)
            #expect(try LabProbe.connect(from: gruen, to: IPAddress("20.0.0.2")!, port: 9999))
        }
        _ = try Lab.down(spec)
        #expect(scratch.leftovers().isEmpty)
    }
}

@Suite(.enabled(if: isRoot, "needs root"))
struct LabCheckDownTests {
    @Test func checkOfALabThatIsDownNamesTheLineAndTheCause() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try scratch.load("seed")
        let error = await #expect(throws: LabError.self) { try await Lab.check(spec) }
        #expect(error?.location.hasSuffix("lab-seed.conf:10") == true)
        #expect(error?.message.contains("lab seed is not up: netns gruen does not exist") == true)
    }
}
