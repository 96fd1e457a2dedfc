import MailLabTestSupport
import NamespaceTestSupport
import Glibc
import Netlink
import Testing

@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .bridge))
struct LinkTests {
    @Test func vethPeerIsCreatedDirectlyInsideAnotherNamespace() throws {
        try withScratch { scratch in
            let left = try scratch.namespace("left")
            let right = try scratch.namespace("right")
            let a = scratch.interface("a")
            let b = scratch.interface("b")
            let leftHandle = try NetlinkHandle(namespace: left)
            let rightHandle = try NetlinkHandle(namespace: right)
            try leftHandle.addVeth(a, peer: b, peerNamespace: right)

            #expect(try leftHandle.link(named: a).kind == "veth")
            #expect(try rightHandle.link(named: b).kind == "veth")
            #expect(try leftHandle.linkIfPresent(named: b) == nil)
            #expect(try iproute("-n", right, "link", "show", b).contains("\(b)@"))
            #expect(!(try iproute("-n", left, "link").contains("\(b)@")))

            // The Ethernet address, as `ip link` prints it after link/ether.
            let hardware = try rightHandle.link(named: b).hardwareAddress
            #expect(hardware.count == 6)
            let text = hardware.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(
                separator: ":")
            #expect(try iproute("-n", right, "link", "show", b).contains("link/ether \(text) "))

            try rightHandle.setUp(b)
            #expect(try rightHandle.link(named: b).isUp)
            #expect(try iproute("-n", right, "link", "show", b).contains(",UP"))
            try rightHandle.setDown(b)
            #expect(!(try rightHandle.link(named: b).isUp))

            try leftHandle.deleteLink(a)
            #expect(try leftHandle.linkIfPresent(named: a) == nil)
            #expect(try rightHandle.linkIfPresent(named: b) == nil)
        }
    }

    @Test func moveLinkIntoANamespace() throws {
        try withScratch { scratch in
            let from = try scratch.namespace("from")
            let to = try scratch.namespace("to")
            let handle = try NetlinkHandle(namespace: from)
            let a = scratch.interface("a")
            try handle.addVeth(a, peer: scratch.interface("b"))
            try handle.moveLink(a, toNamespace: to)
            #expect(try handle.linkIfPresent(named: a) == nil)
            #expect(try NetlinkHandle(namespace: to).link(named: a).name == a)
            #expect(try iproute("-n", to, "link").contains(a))
        }
    }

    @Test func errorsReadLikeIproute2WithTheKernelsText() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("err")
            let handle = try NetlinkHandle(namespace: name)
            let a = scratch.interface("a")
            let b = scratch.interface("b")
            try handle.addVeth(a, peer: b)
            let duplicate = #expect(throws: NetlinkError.self) { try handle.addVeth(a, peer: b) }
            #expect(duplicate?.errno == EEXIST)
            #expect(
                duplicate?.description.hasPrefix(
                    "ip -n \(name) link add \(a) type veth peer name \(b): File exists")
                    == true)

            let long = #expect(throws: NetlinkError.self) {
                try handle.addBridge("a-name-of-16byte")
            }
            #expect(long?.errno == EINVAL)
            #expect(long?.description.contains("1 to 15 bytes") == true)

            let missing = #expect(throws: NetlinkError.self) { try handle.setUp("nosuchlink") }
            #expect(missing?.description == "ip -n \(name) link set nosuchlink up: No such device")

            // The kernel's extended ack text is carried along.
            try handle.setUp(a)
            let gateway = #expect(throws: NetlinkError.self) {
                try handle.addRoute(IPPrefix("10.9.0.0/24"), via: IPAddress("10.8.0.1"), device: a)
            }
            #expect(gateway?.kernelMessage?.isEmpty == false)
            #expect(
                gateway?.description.hasPrefix(
                    "ip -n \(name) route add 10.9.0.0/24 via 10.8.0.1 dev \(a):") == true)
        }
    }

    @Test func bridgeEnslaveListAndUnplug() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("br")
            let handle = try NetlinkHandle(namespace: name)
            let bridge = scratch.interface("br")
            let p1 = scratch.interface("p1")
            let p2 = scratch.interface("p2")
            try handle.addBridge(bridge)
            try handle.addVeth(p1, peer: scratch.interface("q1"))
            try handle.addVeth(p2, peer: scratch.interface("q2"))
            try handle.setMaster(p1, bridge: bridge)
            try handle.setMaster(p2, bridge: bridge)
            #expect(try handle.link(named: bridge).kind == "bridge")
            #expect(try handle.bridgePorts(bridge).map(\.name).sorted() == [p1, p2].sorted())
            let seen = try iproute("bridge", "-n", name, "link")
            #expect(seen.contains("\(p1)@") && seen.contains("master \(bridge)"))

            try handle.setNoMaster(p1)
            #expect(try handle.bridgePorts(bridge).map(\.name) == [p2])
            #expect(!(try iproute("bridge", "-n", name, "link").contains("\(p1)@")))
        }
    }
}
