import MailLabTestSupport
import NamespaceTestSupport
import Glibc
import Netlink
import Testing

@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip))
struct AddressRouteTests {
    @Test func ipv4AndIpv6AddressesAddListDelete() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("addr")
            let handle = try NetlinkHandle(namespace: name)
            let a = scratch.interface("a")
            try handle.addVeth(a, peer: scratch.interface("b"))
            let v4 = IPPrefix("10.0.0.2/24")!
            let v6 = IPPrefix("fd00:1::2/64")!
            try handle.addAddress(v4, to: a)
            try handle.addAddress(v6, to: a)
            let ours = try handle.addresses(of: a).map(\.prefix)
            #expect(ours.contains(v4) && ours.contains(v6))
            let theirs = try iproute("-n", name, "addr", "show", "dev", a)
            #expect(theirs.contains("inet 10.0.0.2/24"))
            #expect(theirs.contains("inet6 fd00:1::2/64"))
            // Added with nodad: never tentative.
            #expect(!theirs.contains("tentative"))

            try handle.deleteAddress(v4, from: a)
            #expect(!(try handle.addresses(of: a).map(\.prefix).contains(v4)))
            #expect(!(try iproute("-n", name, "addr", "show", "dev", a).contains("10.0.0.2")))
            let again = #expect(throws: NetlinkError.self) { try handle.deleteAddress(v4, from: a) }
            #expect(again?.errno == EADDRNOTAVAIL)
        }
    }

    @Test func routesViaGatewayDeviceAndDefault() throws {
        try withScratch { scratch in
            let name = try scratch.namespace("route")
            let handle = try NetlinkHandle(namespace: name)
            let a = scratch.interface("a")
            try handle.addVeth(a, peer: scratch.interface("b"))
            try handle.setUp(a)
            try handle.addAddress(IPPrefix("10.0.0.1/24")!, to: a)
            try handle.addAddress(IPPrefix("fd00:2::1/64")!, to: a)

            let remote = IPPrefix("192.168.178.0/24")!
            try handle.addRoute(remote, via: IPAddress("10.0.0.2")!)
            try handle.addRoute(IPPrefix("172.16.0.0/16")!, device: a)
            try handle.addRoute(nil, via: IPAddress("10.0.0.254")!)
            try handle.addRoute(nil, via: IPAddress("fd00:2::fe")!)

            let routes = try handle.routes()
            let index = try handle.link(named: a).index
            #expect(
                routes.contains(
                    Route(
                        destination: remote, gateway: IPAddress("10.0.0.2"), linkIndex: index,
                        family: AF_INET)))
            #expect(
                routes.contains { $0.destination == nil && $0.gateway == IPAddress("10.0.0.254") })
            #expect(
                routes.contains { $0.destination == nil && $0.gateway == IPAddress("fd00:2::fe") })
            #expect(
                routes.contains { $0.destination == IPPrefix("10.0.0.0/24") && $0.isKernelRoute })

            let seen = try iproute("-n", name, "route")
            #expect(seen.contains("192.168.178.0/24 via 10.0.0.2 dev \(a)"))
            #expect(seen.contains("172.16.0.0/16 dev \(a) scope link"))
            #expect(seen.contains("default via 10.0.0.254 dev \(a)"))
            #expect(
                try iproute("-n", name, "-6", "route").contains("default via fd00:2::fe dev \(a)"))

            try handle.deleteRoute(remote, via: IPAddress("10.0.0.2")!)
            try handle.deleteRoute(nil, via: IPAddress("10.0.0.254")!)
            #expect(!(try handle.routes().contains { $0.destination == remote }))
            let after = try iproute("-n", name, "route")
            #expect(!after.contains("192.168.178.0/24") && !after.contains("default"))
        }
    }

    @Test func prefixParsingAndOverlap() {
        #expect(IPPrefix("10.0.0.2/24")?.network == IPPrefix("10.0.0.0/24"))
        #expect(IPPrefix("10.0.0.2/33") == nil)
        #expect(IPPrefix("10.0.0/24") == nil)
        #expect(IPPrefix("10.0.0.2/x") == nil)
        #expect(IPPrefix("10.0.0.2")?.length == 32)
        #expect(IPPrefix("10.0.0.0/8")!.overlaps(IPPrefix("10.1.0.0/16")!))
        #expect(!IPPrefix("10.0.0.0/24")!.overlaps(IPPrefix("10.0.1.0/24")!))
        #expect(!IPPrefix("10.0.0.0/24")!.overlaps(IPPrefix("fd00::/64")!))
        #expect(IPPrefix("fd00:1::2/64")!.contains(IPAddress("fd00:1::ffff")!))
        #expect(IPAddress("fd00:1::2")?.description == "fd00:1::2")
        #expect(IPAddress("20.0.0.1")?.description == "20.0.0.1")
    }
}
