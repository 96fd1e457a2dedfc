import MailLabTestSupport
import NamespaceTestSupport
import Glibc
import Lab
import Namespaces
import Netlink
import Testing

@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .bridge))
struct LabUpDownTests {
    @Test(arguments: ["seed", "daisy", "bridge"])
    func upTwiceThenDownLeavesNothing(lab: String) throws {
        try withLabScratch { scratch in
            let spec = try scratch.load(lab)
            let first = try Lab.up(spec)
            #expect(!first.isUnchanged)
            #expect(try Lab.status(spec).isUp)
            let second = try Lab.up(spec)
            #expect(second.isUnchanged)

            let removed = try Lab.down(spec)
            #expect(removed.count == spec.namespaces.count + spec.servers.count)
            #expect(scratch.leftovers().isEmpty)
            #expect(!(try iproute("netns", "list").contains(scratch.prefix)))
            #expect(try Lab.down(spec).isEmpty)
            #expect(try Lab.status(spec).isDown)
            #expect(scratch.stateFiles().isEmpty)
        }
    }

    @Test func seedLabSeenByIproute2() throws {
        try withLabScratch { scratch in
            let spec = try scratch.load("seed")
            _ = try Lab.up(spec)
            let host = scratch.name("host")
            let gruen = scratch.name("gruen")
            let hostView = try iproute("-n", host, "addr", "show", "dev", "aaa")
            #expect(hostView.contains("inet 10.0.0.1/24") && hostView.contains("state UP"))
            let gruenView = try iproute("-n", gruen, "addr", "show", "dev", "bbb")
            #expect(gruenView.contains("inet 10.0.0.2/24") && gruenView.contains("state UP"))
            #expect(
                try iproute("-n", gruen, "route").contains(
                    "10.0.0.0/24 dev bbb proto kernel scope link src 10.0.0.2"))
            // Our own dumps agree.
            let handle = try NetlinkHandle(namespace: gruen)
            #expect(
                try handle.addresses(of: "bbb").map(\.prefix).contains(IPPrefix("10.0.0.2/24")!))
            #expect(try handle.link(named: "bbb").isUp)
            _ = try Lab.down(spec)
        }
    }

    @Test func daisyLabSeenByIproute2() throws {
        try withLabScratch { scratch in
            let spec = try scratch.load("daisy")
            _ = try Lab.up(spec)
            #expect(
                try iproute("-n", scratch.name("rot"), "route").contains(
                    "10.0.0.0/24 via 20.0.0.1 dev fff"))
            #expect(
                try iproute("-n", scratch.name("gruen"), "route").contains(
                    "20.0.0.0/24 via 10.0.0.1 dev ccc"))
            #expect(
                try iproute(
                    "netns", "exec", scratch.name("blau"), "cat", "/proc/sys/net/ipv4/ip_forward")
                    == "1\n")
            let rot = try NetlinkHandle(namespace: scratch.name("rot"))
            #expect(
                try rot.routes().contains {
                    $0.destination == IPPrefix("10.0.0.0/24") && $0.gateway == IPAddress("20.0.0.1")
                })
            _ = try Lab.down(spec)
        }
    }

    @Test func bridgeLabSeenByIproute2() throws {
        try withLabScratch { scratch in
            let spec = try scratch.load("bridge")
            _ = try Lab.up(spec)
            let ports = try iproute("bridge", "-n", scratch.name("switch"), "link")
            // iproute2 prints "zr@zg" for a port whose peer is in another namespace: match the name only.
            let lines = ports.split(separator: "\n").filter { $0.contains("master br0") }
            #expect(lines.count == 3)
            for port in ["zg", "zr", "zb"] {
                #expect(lines.contains { $0.contains(": \(port)") }, "\(ports)")
            }
            let handle = try NetlinkHandle(namespace: scratch.name("switch"))
            #expect(try handle.bridgePorts("br0").map(\.name).sorted() == ["zb", "zg", "zr"])
            #expect(try iproute("-n", scratch.name("rot"), "addr").contains("inet6 fd00:10::3/64"))
            _ = try Lab.down(spec)
        }
    }

    @Test(arguments: ["seed", "daisy", "bridge"])
    func failureAtEachStepOfUpLeavesNothing(lab: String) throws {
        try withLabScratch { scratch in
            let spec = try scratch.load(lab)
            let stepCount = try Lab.up(spec).applied.count
            _ = try Lab.down(spec)
            #expect(stepCount > 5)
            for failing in 0..<stepCount {
                let error = #expect(throws: LabError.self) {
                    try Lab.up(spec) { index, _ in
                        if index == failing { throw InjectedFault(index: index) }
                    }
                }
                #expect(error?.description.contains("injected fault after step \(failing)") == true)
                #expect(error?.rollbackFailures == [])
                #expect(scratch.leftovers() == [], "after a fault at step \(failing)")
            }
        }
    }

    @Test func failureInAPreexistingNamespaceIsUndoneStepByStep() throws {
        // The lab's host is a namespace that exists before up: rollback must undo each step
        // in it (delete the veth end) rather than rely on deleting the namespace.
        try withLabScratch { scratch in
            let spec = try scratch.load("seed")
            let host = scratch.name("host")
            try NetworkNamespace.add(host)
            let total = try Lab.up(spec, adopt: true).applied.count
            _ = try Lab.down(spec)
            #expect(NetworkNamespace.exists(host), "down leaves the adopted namespace")
            for failing in 0..<(total - 1) {
                #expect(throws: LabError.self) {
                    try Lab.up(spec, adopt: true) { index, _ in
                        if index == failing { throw InjectedFault(index: index) }
                    }
                }
                let handle = try NetlinkHandle(namespace: host)
                #expect(
                    try handle.links().map(\.name) == ["lo"], "after a fault at step \(failing)")
                #expect(!NetworkNamespace.exists(scratch.name("gruen")))
            }
        }
    }

    @Test func statusShowsMissingAndDriftAndUpRepairs() throws {
        try withLabScratch { scratch in
            let spec = try scratch.load("daisy")
            _ = try Lab.up(spec)
            let rot = try NetlinkHandle(namespace: scratch.name("rot"))
            try rot.deleteAddress(IPPrefix("20.0.0.2/24")!, from: "fff")
            try rot.addAddress(IPPrefix("20.0.0.9/24")!, to: "fff")
            let status = try Lab.status(spec)
            #expect(!status.isUp)
            #expect(
                status.items.filter { $0.state == .missing }.map(\.step.description).contains(
                    "ip -n \(scratch.name("rot")) addr add 20.0.0.2/24 dev fff"))
            #expect(
                status.drift.contains(
                    "ip -n \(scratch.name("rot")) addr: 20.0.0.9/24 on fff is not in the lab"))
            // up adds what is missing but leaves drift alone: remove the stray address by hand.
            try rot.deleteAddress(IPPrefix("20.0.0.9/24")!, from: "fff")
            let repair = try Lab.up(spec)
            // Deleting the address took the route via 20.0.0.1 with it: both come back.
            #expect(
                repair.applied.map(\.description) == [
                    "ip -n \(scratch.name("rot")) addr add 20.0.0.2/24 dev fff",
                    "ip -n \(scratch.name("rot")) route add 10.0.0.0/24 via 20.0.0.1",
                ])
            let after = try Lab.status(spec)
            #expect(after.isUp, "\(after.items.filter { $0.state != .present }) \(after.drift)")
            _ = try Lab.down(spec)
        }
    }

    @Test func conflictingObjectStopsUpBeforeAnyChange() throws {
        try withLabScratch { scratch in
            let spec = try scratch.load("seed")
            let host = scratch.name("host")
            try NetworkNamespace.add(host)
            try NetlinkHandle(namespace: host).addBridge("aaa")
            let error = #expect(throws: LabError.self) { try Lab.up(spec) }
            #expect(
                error?.description.contains(
                    "\(spec.file):11: veth aaa@host bbb@gruen: aaa@host exists but bbb@gruen does not"
                ) == true, "\(error?.description ?? "")")
            #expect(!NetworkNamespace.exists(scratch.name("gruen")))
        }
    }
}
