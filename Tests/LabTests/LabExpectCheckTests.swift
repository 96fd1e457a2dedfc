import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import LinuxSystem
import MailLabTestSupport
import Namespaces
import Netlink
import Testing

/// `check` against the intent of `expect` lines: a file that says gruen reaches rot but
/// forgets forwarding or the route back, or puts a veth's ends on two subnets, fails check
/// with the mistake named; ICMP (v4 and v6) and TCP probes; the host forwarding in a lab.
@Suite(.enabled(if: isRoot, "needs root"))
struct LabExpectCheckTests {
    /// The daisy lab's file with `replacing` changed and `adding` appended, renamed for `scratch`.
    func daisy(_ scratch: LabScratch, replacing: [(String, String)] = [], adding: String) throws
        -> LabSpec
    {
        var text = try String(contentsOfFile: confDirectory + "/lab-daisy.conf", encoding: .utf8)
        for (old, new) in replacing {
            #expect(text.contains(old))
            text = text.replacingOccurrences(of: old, with: new)
        }
        return try LabParser.parse(
            text + adding, file: "lab-daisy.conf", renaming: scratch.renaming)
    }

    /// Brings `spec` up, checks it and takes it down again.
    func checked(_ spec: LabSpec, timeout: Int32 = 300) async throws -> LabCheckResult {
        _ = try Lab.up(spec)
        let result = try await Lab.check(spec, timeoutMilliseconds: timeout)
        _ = try Lab.down(spec)
        return result
    }

    /// The cell from gruen to rot's 20.0.0.2 by ICMP.
    func gruenToRot(_ result: LabCheckResult, _ scratch: LabScratch) -> LabProbeResult? {
        result.probes.first {
            $0.source == scratch.name("gruen") && $0.address == IPAddress("20.0.0.2")
                && $0.kind == .icmp
        }
    }

    @Test func forwardingMissingInTheFileFailsCheckAndIsNamed() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try daisy(
            scratch, replacing: [("netns blau forward", "netns blau")],
            adding: "expect gruen -> rot\n")
        let result = try await checked(spec)
        #expect(!result.passed)
        let cell = gruenToRot(result, scratch)
        #expect(cell?.expected == true && cell?.actual == false && cell?.line == 25)
        #expect(
            cell?.cause
                == "in the file: blau does not forward (packets from gruen to 20.0.0.2 pass through it): line 15 should say \"netns blau forward\""
        )
        let matrix = result.matrix(namespaceName: spec.renaming.fileName(ofNamespace:))
        #expect(
            matrix.contains("gruen -> rot:20.0.0.2:icmp: in the file: blau does not forward"),
            "\(matrix)")
        #expect(!matrix.contains("mlt-"), "the file's names: \(matrix)")
    }

    @Test func routeBackMissingInTheFileFailsCheckAndIsNamed() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try daisy(
            scratch, replacing: [("route rot 10.0.0.0/24 via 20.0.0.1", "")],
            adding: "expect gruen -> rot\n")
        let result = try await checked(spec)
        #expect(!result.passed)
        #expect(
            gruenToRot(result, scratch)?.cause
                == "in the file, way back: no route in rot to 10.0.0.2")
    }

    @Test func vethEndsOnDifferentSubnetsFailCheckAndAreNamed() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try daisy(
            scratch, replacing: [("addr ddd@blau 10.0.0.1/24", "addr ddd@blau 10.0.1.1/24")],
            adding: "expect gruen -> blau\n")
        let result = try await checked(spec)
        #expect(!result.passed)
        let cell = result.probes.first {
            $0.source == scratch.name("gruen") && $0.address == IPAddress("10.0.1.1")
        }
        #expect(
            cell?.cause
                == "in the file: ccc@gruen 10.0.0.2/24 (line 19) and ddd@blau 10.0.1.1/24 (line 20) are on one link but on different subnets"
        )
    }

    /// Without expect lines, the file's links and routes say what it means to reach: the
    /// same three mistakes fail check with the same causes.
    @Test(arguments: [
        (
            "netns blau forward", "netns blau", "gruen", "20.0.0.2",
            "in the file: blau does not forward (packets from gruen to 20.0.0.2 pass through it): line 15 should say \"netns blau forward\""
        ),
        (
            "route rot 10.0.0.0/24 via 20.0.0.1", "", "gruen", "20.0.0.2",
            "in the file, way back: no route in rot to 10.0.0.2"
        ),
        (
            "addr ddd@blau 10.0.0.1/24", "addr ddd@blau 10.0.1.1/24", "gruen", "10.0.1.1",
            "in the file: ccc@gruen 10.0.0.2/24 (line 19) and ddd@blau 10.0.1.1/24 (line 20) are on one link but on different subnets"
        ),
    ])
    func withoutExpectLinesTheFilesLinksAndRoutesAreTheIntent(
        old: String, new: String, source: String, address: String, cause: String
    ) async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try daisy(scratch, replacing: [(old, new)], adding: "")
        let result = try await checked(spec)
        #expect(!result.passed)
        #expect(!result.fromExpectLines)
        let cell = result.probes.first {
            $0.source == scratch.name(source) && $0.address == IPAddress(address)
        }
        #expect(cell?.expected == true && cell?.fileAllows == false && cell?.actual == false)
        #expect(cell?.cause == cause)
    }

    @Test func expectLinesReplaceTheDerivedIntent() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        // rot is meant to be cut off from gruen (no way back), blau reached by ping and TCP.
        let spec = try daisy(
            scratch, replacing: [("route rot 10.0.0.0/24 via 20.0.0.1", "")],
            adding: "expect gruen -/-> rot\nexpect gruen -> blau\nexpect gruen -> 20.0.0.1:9999\n")
        let result = try await checked(spec)
        #expect(result.passed, "\(result.matrix())")
        #expect(result.fromExpectLines)
        // Only the expect lines' cells: gruen's row, blau's two addresses and rot's one by ICMP,
        // blau's far one by TCP.
        #expect(result.probes.count == 4)
        #expect(result.probes.allSatisfy { $0.source == scratch.name("gruen") })
        #expect(gruenToRot(result, scratch)?.actual == false)
        #expect(result.probes.filter { $0.kind == .tcp(port: 9999) }.map(\.actual) == [true])
    }

    @Test func aPathTheFileOpensAgainstAnExpectLineIsNamed() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try daisy(scratch, adding: "expect gruen -/-> rot\n")
        let result = try await checked(spec)
        #expect(!result.passed)
        let cell = gruenToRot(result, scratch)
        #expect(cell?.actual == true)
        #expect(cell?.cause == "the file lets it through: gruen -> blau -> rot")
        #expect(
            result.matrix(namespaceName: spec.renaming.fileName(ofNamespace:)).contains("OK! [1]"))
    }

    @Test func tcpExpectLinesProbeAServerAlreadyListening() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try daisy(scratch, adding: "expect gruen -> 20.0.0.2:7777\n")
        _ = try Lab.up(spec)
        let server = try LabProbe.listen(
            in: scratch.name("rot"), address: IPAddress("20.0.0.2")!, port: 7777)
        let result = try await Lab.check(spec, timeoutMilliseconds: 300)
        #expect(result.passed, "\(result.matrix())")
        // The probe's connection is waiting in the server's queue: check used the server.
        var poller = pollfd(fd: server.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 1000) == 1)
        _ = try Lab.down(spec)
    }

    @Test func icmpOverIPv4AndIPv6AndALinkDown() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let text =
            try String(contentsOfFile: confDirectory + "/lab-bridge.conf", encoding: .utf8)
            + "expect gruen -> rot\n"
        let spec = try LabParser.parse(text, file: "lab-bridge.conf", renaming: scratch.renaming)
        _ = try Lab.up(spec)
        let result = try await Lab.check(spec, timeoutMilliseconds: 300)
        #expect(result.passed, "\(result.matrix())")
        #expect(
            result.probes.map { "\($0.address) \($0.actual == true)" }.sorted() == [
                "10.1.0.3 true", "fd00:10::3 true",
            ])
        try NetlinkHandle(namespace: scratch.name("rot")).setDown("yr")
        let broken = try await Lab.check(spec, timeoutMilliseconds: 300)
        #expect(!broken.passed)
        #expect(broken.probes.allSatisfy { $0.actual == false && $0.cause == "yr@rot is down" })
        _ = try Lab.down(spec)
    }

    @Test func theMatrixHasAxesALegendAndExplainsTheSwitch() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try scratch.load("bridge")
        let result = try await checked(spec)
        #expect(result.passed)
        let matrix = result.matrix(namespaceName: spec.renaming.fileName(ofNamespace:))
        let lines = matrix.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("from \\ to  gruen:10.1.0.2") == true, "\(matrix)")
        #expect(
            lines.contains(
                "(no row for switch: it has links but no address in the file, so nothing is sent from it)"
            ))
        #expect(!lines.contains { $0.hasPrefix("switch ") })
        for symbol in ["ok ", "-- ", "OK! ", "--!N ", ". ", "n/a "] {
            #expect(
                lines.contains { $0.hasPrefix("  " + symbol) || $0.contains("   " + symbol) },
                "\(symbol)")
        }
        // gruen's row: its own two addresses are `.`.
        #expect(lines[1].split(separator: " ").filter { $0 == "." }.count == 2, "\(lines[1])")
    }

    @Test func hostForwardingIsUndoneByDownToThePreviousValue() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let real = try FileSystem.readFile("/proc/sys/net/ipv4/ip_forward", limit: 16)
        // The stand-in host exists before the lab, forwarding IPv4 only.
        let host = scratch.name("host")
        try NetworkNamespace.add(host)
        try NetworkNamespace.setForwarding(Forwarding(ipv4: true, ipv6: false), in: host)
        // a and b meet only in the host, which forwards.
        let text = """
            netns a
            netns b
            veth x@a y@host
            veth z@host w@b
            addr x@a 10.5.0.2/24
            addr y@host 10.5.0.1/24
            addr z@host 10.6.0.1/24
            addr w@b 10.6.0.2/24
            route a 10.6.0.0/24 via 10.5.0.1
            route b 10.5.0.0/24 via 10.6.0.1
            forward host
            expect a -> b
            expect b -> a:80

            """
        let spec = try LabParser.parse(text, file: "lab-hf.conf", renaming: scratch.renaming)
        let report = try Lab.up(spec)
        #expect(report.applied.contains { $0.summary(spec.renaming) == "forwarding on in host" })
        #expect(try NetworkNamespace.forwarding(in: host) == Forwarding(ipv4: true, ipv6: true))
        let result = try await Lab.check(spec, timeoutMilliseconds: 300)
        #expect(result.passed, "\(result.matrix())")
        let undone = try Lab.down(spec)
        #expect(undone.contains("forwarding on in host"))
        #expect(try NetworkNamespace.forwarding(in: host) == Forwarding(ipv4: true, ipv6: false))
        #expect(NetworkNamespace.exists(host), "down leaves the host it did not create")
        #expect(try FileSystem.readFile("/proc/sys/net/ipv4/ip_forward", limit: 16) == real)

        // Without `forward host`, the file itself is the cause.
        let noForward = try LabParser.parse(
            text.replacingOccurrences(of: "forward host\n", with: ""), file: "lab-hf.conf",
            renaming: scratch.renaming)
        let failed = try await checked(noForward)
        #expect(!failed.passed)
        #expect(
            failed.probes.first { $0.kind == .icmp }?.cause
                == "in the file: host does not forward (packets from a to 10.6.0.2 pass through it): add \"forward host\""
        )
        #expect(try FileSystem.readFile("/proc/sys/net/ipv4/ip_forward", limit: 16) == real)
    }

    @Test func twoLabsForwardingOneHostAreRefusedAsOverlapping() throws {
        try withLabScratch { scratch in
            func lab(_ name: String) throws -> LabSpec {
                try LabParser.parse(
                    "netns n\nveth e@n f@host\nforward host\n", file: "lab-\(name).conf",
                    renaming: LabRenaming(
                        namespacePrefix: scratch.prefix + name + "-",
                        hostNamespace: scratch.name("host")))
            }
            let first = try lab("one")
            _ = try Lab.up(first)
            let error = #expect(throws: LabError.self) { try Lab.up(try lab("two")) }
            #expect(
                error?.description.contains(
                    "lab-two.conf:3: forward host is also lab \(scratch.prefix)one-one's (lab-one.conf:3): the labs overlap"
                ) == true, "\(error?.description ?? "")")
            #expect(!NetworkNamespace.exists(scratch.prefix + "two-n"))
            #expect(try NetworkNamespace.forwarding(in: scratch.name("host")).ipv4)
            _ = try Lab.down(first)
        }
    }

    @Test func forwardHostOfTheRealHostIsAStepButOnlyWhenTheFileSaysSo() throws {
        // Read only: status compares, it never applies.
        let with = try LabParser.parse("forward host\n", file: "lab-fh.conf")
        let steps = try Lab.status(with).items.map(\.step)
        #expect(
            steps.map(\.description) == [
                "sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"
            ])
        #expect(steps.first?.line == 1)
        let without = try LabParser.parse("netns q\n", file: "lab-fh.conf")
        #expect(
            try !Lab.status(without).items.contains {
                if case .setForwarding(nil, _) = $0.step.action { return true }
                return false
            })
    }
}

/// The mlab command line: check --json for graders, and `host` in the low-level verbs.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.mlab, .python3))
struct MLabCheckJSONAndHostVerbTests {
    @Test func checkJSONParsesWithPythonAndCarriesEveryCell() throws {
        try withLabScratch { scratch in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                scratch.prefix + "json")
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("lab-daisy.conf").path
            let text = try String(
                contentsOfFile: confDirectory + "/lab-daisy.conf", encoding: .utf8
            )
            .replacingOccurrences(of: "netns blau forward", with: "netns blau")
            try (text + "expect gruen -> rot\nexpect gruen -> blau:25\n").write(
                toFile: file, atomically: true, encoding: .utf8)
            let lab = ["--netns-prefix", scratch.prefix, "--host", scratch.name("host"), file]
            #expect(try mlab(["lab", "up", "--quiet"] + lab).0 == 0)
            let (status, json, errors) = try mlab(
                ["lab", "check", "--json", "--timeout", "300"] + lab)
            #expect(status == 1, "\(errors)")
            let script = """
                import json, sys
                d = json.load(sys.stdin)
                assert d["lab"] == "daisy" and d["passed"] is False and d["intent"] == "expect", d
                cells = {(c["from"], c["to"], c["address"], c["probe"], c["port"]): c for c in d["cells"]}
                rot = cells[("gruen", "rot", "20.0.0.2", "icmp", None)]
                assert rot["expected"] is True and rot["observed"] is False and rot["passed"] is False
                assert rot["cell"] == "--!" and rot["line"] == 25
                assert rot["cause"].startswith("in the file: blau does not forward"), rot
                blau = cells[("gruen", "blau", "10.0.0.1", "tcp", 25)]
                assert blau["observed"] is True and blau["passed"] is True and blau["cause"] is None
                assert len(cells) == 3, cells
                print("ok")
                """
            let checked = try runToEnd("/usr/bin/python3", ["-c", script], input: json)
            #expect(
                checked.status == 0 && checked.output == "ok\n",
                "\(checked.errors)\n\(json)\n\(errors)")
            #expect(try mlab(["lab", "down", "--quiet"] + lab).0 == 0)

            // A lab that is down: still one object on stdout, with the error.
            let (downStatus, downJSON, _) = try mlab(["lab", "check", "--json"] + lab)
            #expect(downStatus == 1)
            let down = try runToEnd(
                "/usr/bin/python3",
                [
                    "-c",
                    "import json,sys; d=json.load(sys.stdin); assert d['passed'] is False and d['cells'] == [] and 'is not up' in d['error'], d; print('ok')",
                ], input: downJSON)
            #expect(down.output == "ok\n", "\(down.errors)\n\(downJSON)")
        }
    }

    @Test func linkSetNetnsHostMovesALinkIntoTheNamespaceMlabRunsIn() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try scratch.load("daisy")
        _ = try Lab.up(spec)
        // mlab run inside the stand-in host: its "host" is that namespace, never the real one.
        let host = scratch.name("host")
        let (status, _, errors) = try mlab([
            "netns", "exec", host, "--", mlabPath, "link", "set-netns", "-n",
            scratch.name("blau"), "ddd", "host",
        ])
        #expect(status == 0, "\(errors)")
        #expect(try iproute("-n", host, "link").contains(" ddd@"))
        #expect(!(try iproute("-n", scratch.name("blau"), "link").contains(" ddd@")))
        let result = try await Lab.check(spec, timeoutMilliseconds: 200)
        #expect(
            result.probes.contains { $0.cause == "ddd@blau is in host, not in blau" },
            "\(result.matrix(namespaceName: spec.renaming.fileName(ofNamespace:)))")
        _ = try Lab.down(spec)
    }

    @Test func netnsForwardHostSetsTheForwardingOfTheNamespaceMlabRunsIn() throws {
        try withLabScratch { scratch in
            let real = try FileSystem.readFile("/proc/sys/net/ipv4/ip_forward", limit: 16)
            // mlab run inside a scratch namespace: its host is that namespace.
            let host = scratch.name("host")
            try NetworkNamespace.add(host)
            for (value, expected) in [("on", true), ("off", false)] {
                let (status, _, errors) = try mlab([
                    "netns", "exec", host, "--", mlabPath, "netns", "forward", "host", value,
                ])
                #expect(status == 0, "\(errors)")
                #expect(
                    try NetworkNamespace.forwarding(in: host)
                        == Forwarding(ipv4: expected, ipv6: expected))
                #expect(try FileSystem.readFile("/proc/sys/net/ipv4/ip_forward", limit: 16) == real)
            }
        }
    }

    @Test func netnsForwardHostShowsTheHostsForwarding() throws {
        let (status, output, errors) = try mlab(["netns", "forward", "host"])
        #expect(status == 0, "\(errors)")
        let ipv4 = try FileSystem.readFile("/proc/sys/net/ipv4/ip_forward", limit: 16).first
        #expect(output.hasPrefix(ipv4 == UInt8(ascii: "1") ? "ipv4 on " : "ipv4 off "), "\(output)")
        // `-n host` is the host for the other low-level verbs too.
        let (plain, addresses, _) = try mlab(["addr", "list"])
        let (named, hostAddresses, hostErrors) = try mlab(["addr", "list", "-n", "host"])
        #expect(plain == 0 && named == 0, "\(hostErrors)")
        #expect(hostAddresses == addresses && addresses.contains("127.0.0.1"), "\(hostAddresses)")
    }
}
