import Lab
import Namespaces
import Netlink
import Testing

/// `expect` and `forward` lines: every form parsed, every mistake named with its line.
struct LabExpectParserTests {
    static let daisy = """
        netns gruen
        netns blau forward
        netns rot
        veth ccc@gruen ddd@blau
        veth eee@blau fff@rot
        addr ccc@gruen 10.0.0.2/24
        addr ddd@blau 10.0.0.1/24
        addr eee@blau 20.0.0.1/24
        addr fff@rot 20.0.0.2/24
        addr fff@rot fd00:20::2/64
        addr eee@blau fd00:20::1/64

        """

    func errors(_ lines: String) -> [String] {
        do {
            _ = try LabParser.parse(Self.daisy + lines, file: "t.conf")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func everyTargetFormParses() throws {
        let spec = try LabParser.parse(
            Self.daisy + """
                expect gruen -> rot
                expect gruen -/-> blau:25
                expect rot -> 10.0.0.2
                expect gruen -> 20.0.0.2:9999
                expect blau -> fd00:20::2
                expect blau -/-> [fd00:20::2]:25
                expect host -> gruen
                """, file: "t.conf", renaming: LabRenaming(namespacePrefix: "p-"))
        #expect(
            spec.expectations == [
                LabExpectation(
                    source: "p-gruen", target: .namespace("p-rot"), port: nil, reaches: true,
                    line: 12),
                LabExpectation(
                    source: "p-gruen", target: .namespace("p-blau"), port: 25, reaches: false,
                    line: 13),
                LabExpectation(
                    source: "p-rot", target: .address(IPAddress("10.0.0.2")!), port: nil,
                    reaches: true, line: 14),
                LabExpectation(
                    source: "p-gruen", target: .address(IPAddress("20.0.0.2")!), port: 9999,
                    reaches: true, line: 15),
                LabExpectation(
                    source: "p-blau", target: .address(IPAddress("fd00:20::2")!), port: nil,
                    reaches: true, line: 16),
                LabExpectation(
                    source: "p-blau", target: .address(IPAddress("fd00:20::2")!), port: 25,
                    reaches: false, line: 17),
                LabExpectation(
                    source: nil, target: .namespace("p-gruen"), port: nil, reaches: true,
                    line: 18),
            ])
    }

    @Test func expectMistakesAreNamedWithTheirLine() {
        #expect(
            errors("expect gruen => rot\n") == [
                "t.conf:12: expected -> (must reach) or -/-> (must not reach), got \"=>\" (did you mean ->?)"
            ])
        #expect(
            errors("expect gruen -/> rot\n") == [
                "t.conf:12: expected -> (must reach) or -/-> (must not reach), got \"-/>\" (did you mean -/-> or ->?)"
            ])
        #expect(
            errors("expect gruenn -> rot\n") == [
                "t.conf:12: unknown namespace \"gruenn\" (did you mean gruen?)"
            ])
        #expect(
            errors("expect gruen -> rott:25\n") == [
                "t.conf:12: unknown namespace \"rott\" (did you mean rot?)"
            ])
        #expect(
            errors("expect gruen -> rot:http\n") == [
                "t.conf:12: malformed port in \"rot:http\" (expected a TCP port from 1 to 65535)"
            ])
        #expect(errors("expect gruen -> rot:0\n").count == 1)
        #expect(errors("expect gruen -> [fd00:20::2]\n").count == 1)
        #expect(
            errors("expect gruen -> 20.0.0.9\n") == [
                "t.conf:12: 20.0.0.9 is no address of the lab (expect probes only the lab's own addresses)"
            ])
        #expect(
            errors("expect gruen -> 10.0.0.2\n") == [
                "t.conf:12: 10.0.0.2 is an address of gruen itself"
            ])
        #expect(
            errors("expect gruen -> gruen\n") == [
                "t.conf:12: expect gruen -> gruen: a namespace is not probed from itself"
            ])
        #expect(
            errors("expect gruen -> host\n") == [
                "t.conf:12: host has no address in the file: nothing to probe"
            ])
        #expect(
            errors("expect 10.0.0.2 -> rot\n").first?.contains(
                "the source of expect is a namespace") == true)
        #expect(
            errors("expect gruen rot\n").first?.hasPrefix("t.conf:12: usage: expect NS -> TARGET")
                == true)
        #expect(
            errors("expct gruen -> rot\n") == [
                "t.conf:12: unknown statement \"expct\" (did you mean expect?)"
            ])
    }

    @Test func forwardTurnsForwardingOnInTheHostOrANamespace() throws {
        let spec = try LabParser.parse(Self.daisy + "forward host\nforward rot\n", file: "t.conf")
        #expect(spec.hostForwardLine == 12)
        #expect(spec.forwards(nil))
        #expect(spec.forwards("rot"))
        #expect(!spec.forwards("gruen"))
        #expect(spec.allNamespaces.first == .some(nil), "the host is one of the lab's namespaces")

        // With --host, the stand-in namespace forwards instead.
        let renamed = try LabParser.parse(
            Self.daisy + "forward host\n", file: "t.conf",
            renaming: LabRenaming(namespacePrefix: "p-", hostNamespace: "p-host"))
        #expect(renamed.forwards("p-host"))
        #expect(!renamed.forwards(nil))

        #expect(
            errors("forward host\nforward host\n") == [
                "t.conf:13: duplicate forward host (first on line 12)"
            ])
        #expect(
            errors("forward rott\n") == [
                "t.conf:12: unknown namespace \"rott\" (did you mean rot?)"
            ])
        #expect(errors("forward\n") == ["t.conf:12: usage: forward NS (e.g. forward host)"])
    }

    @Test func hostForwardingIsRecordedWithTheValueItReplaced() throws {
        var state = LabState(text: "lab x\nfile x.conf\n")!
        state.made = [
            LabState.Change(
                action: .setForwarding(nil, Forwarding(ipv4: true, ipv6: true)),
                previous: Forwarding(ipv4: true, ipv6: false))
        ]
        #expect(state.text.contains("made forwarding - 1 1 1 0\n"), "\(state.text)")
        #expect(LabState(text: state.text) == state)
    }
}
