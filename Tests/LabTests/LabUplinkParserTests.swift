import DHCPClient
import Lab
import LinuxSystem
import Namespaces
import Netlink
import Testing

/// The statements of course §5: `upstream` (the outside network's DHCP server), `uplink`
/// (a veth standing in for enp5s0, or a real NIC behind a flag) and `addr IF@NS dhcp`.
struct LabUplinkParserTests {
    static let base = """
        netns sw
        netns g
        netns lan
        bridge br0@sw ports a
        veth a@sw b@g
        uplink br0@sw enp5s0 wan@lan
        addr wan@lan 10.5.0.1/24

        """

    func errors(_ text: String) -> [String] {
        do {
            _ = try LabParser.parse(Self.base + text, file: "t.conf")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func theUplinkIsAVethWhosePortJoinsTheBridge() throws {
        let spec = try LabParser.parse(
            Self.base
                + "upstream wan@lan dhcp 10.5.0.100-10.5.0.150 router 10.5.0.1 dns 10.5.0.1,10.5.0.2 lease 600\naddr b@g dhcp\n",
            file: "t.conf")
        #expect(spec.bridges.first?.ports == ["a", "enp5s0"])
        #expect(spec.veths.last?.first == LabInterface(name: "enp5s0", namespace: "sw"))
        #expect(spec.veths.last?.second == LabInterface(name: "wan", namespace: "lan"))
        #expect(spec.veths.last?.line == 6)
        #expect(spec.dhcpAddresses.map(\.interface) == [LabInterface(name: "b", namespace: "g")])
        guard case .dhcpServer(let server) = spec.servers.first?.kind else {
            Issue.record("no DHCP server: \(spec.servers)")
            return
        }
        #expect(server.network == IPPrefix("10.5.0.0/24"))
        #expect(server.router == IPAddress("10.5.0.1"))
        #expect(server.dnsServers == [IPAddress("10.5.0.1")!, IPAddress("10.5.0.2")!])
        #expect(server.leaseSeconds == 600)
        #expect(
            spec.servers.first?.summary(.none)
                == "upstream wan@lan dhcp 10.5.0.100-10.5.0.150 router 10.5.0.1 dns 10.5.0.1,10.5.0.2 lease 600"
        )
        // dnsmasq's command line: DHCP only on wan, nothing resolved, nothing else read.
        let arguments = server.arguments(leaseFile: "/x/l")
        for expected in [
            "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0", "--interface=wan",
            "--bind-interfaces", "--dhcp-range=10.5.0.100,10.5.0.150,255.255.255.0,600",
            "--dhcp-leasefile=/x/l", "--dhcp-option=option:router,10.5.0.1",
            "--dhcp-option=option:dns-server,10.5.0.1,10.5.0.2",
        ] {
            #expect(arguments.contains(expected), "\(expected)")
        }
    }

    @Test func badUpstreamsAreNamedWithTheirLine() {
        #expect(
            errors("upstream wan@lan 10.5.0.100-10.5.0.150\n").first?.hasPrefix(
                "t.conf:8: usage: upstream IF@NS dhcp FIRST-LAST") == true)
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.100\n") == [
                "t.conf:8: malformed range \"10.5.0.100\" (expected FIRST-LAST, e.g. 10.5.0.100-10.5.0.199)"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.150-10.5.0.100\n") == [
                "t.conf:8: range 10.5.0.150-10.5.0.100 ends before it starts"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.6.0.100-10.6.0.150\n") == [
                "t.conf:8: wan@lan has no address on the network of 10.6.0.100-10.6.0.150 (add one: addr wan@lan ADDRESS/LENGTH)"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.100-10.6.0.150\n") == [
                "t.conf:8: 10.6.0.150 is outside 10.5.0.0/24 of line 7"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.1-10.5.0.50\n") == [
                "t.conf:8: the range 10.5.0.1-10.5.0.50 holds the server's own address 10.5.0.1"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.100-10.5.0.150 router 10.9.0.1\n") == [
                "t.conf:8: router 10.9.0.1 is not on 10.5.0.0/24"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.100-10.5.0.150 lease 60\n") == [
                "t.conf:8: lease \"60\": expected seconds, at least 120 (dnsmasq's minimum)"
            ])
        #expect(
            errors("upstream wan@lan dhcp 10.5.0.100-10.5.0.150 dns ::1\n") == [
                "t.conf:8: malformed dns address list \"::1\" (IPv4 expected)"
            ])
        #expect(
            errors(
                "upstream wan@lan dhcp 10.5.0.100-10.5.0.150\nupstream wan@lan dhcp 10.5.0.200-10.5.0.210\n"
            ) == ["t.conf:9: wan@lan already has a DHCP server (line 8)"])
        #expect(
            errors("upstream wxn@lan dhcp 10.5.0.100-10.5.0.150\n") == [
                "t.conf:8: unknown interface wxn@lan (did you mean wan@lan?)"
            ])
    }

    @Test func badUplinksAndDHCPAddressesAreNamedWithTheirLine() {
        #expect(
            errors("uplink br1@sw up0 x@lan\n") == [
                "t.conf:8: unknown bridge br1@sw (declare it with a bridge line)"
            ])
        #expect(
            errors("uplink br0@sw up0 x@sw\n") == [
                "t.conf:8: the uplink's far end x@sw must be in another namespace than the bridge (the upstream network)"
            ])
        #expect(
            errors("uplink br0@sw enp5s0 x@lan\n") == [
                "t.conf:8: duplicate interface enp5s0@sw (first declared on line 6)"
            ])
        #expect(
            errors("uplink br0@sw\n") == [
                "t.conf:8: usage: uplink BRIDGE@NS PORT IF@NS, or uplink BRIDGE@NS nic NAME"
            ])
        #expect(
            errors("addr c@g dhcp\n") == ["t.conf:8: unknown interface c@g (did you mean b@g?)"])
        #expect(
            errors("addr a@sw dhcp\n") == [
                "t.conf:8: a@sw is a bridge port: put the address on the bridge"
            ])
        #expect(
            errors("addr b@g dhcp\naddr b@g dhcp\n") == [
                "t.conf:9: b@g already takes its address by DHCP (line 8)"
            ])
    }

    @Test func aRealNICIsRefusedUnlessNamedAndNothingIsMade() throws {
        let spec = try LabParser.parse(
            "netns mltnic-sw\nbridge br0@mltnic-sw\nuplink br0@mltnic-sw nic enp9s0\n",
            file: "t.conf")
        #expect(spec.nicUplinks.map(\.nic) == ["enp9s0"])
        #expect(spec.bridges.first?.ports == [])
        #expect {
            _ = try Lab.up(spec)
        } throws: { error in
            "\(error)"
                == "t.conf:3: uplink br0@mltnic-sw nic enp9s0: plugging the real NIC enp9s0 into a lab bridge puts the lab on this machine's real network; refused unless named with --allow-nic enp9s0"
        }
        // Another NIC's name does not allow it either.
        #expect(throws: LabError.self) { _ = try Lab.up(spec, allowNICs: ["eth0"]) }
        #expect(!NetworkNamespace.exists("mltnic-sw"))
    }

    @Test func leasesSurviveTheStateFile() throws {
        let text = """
            lab p-uplink
            file conf/lab-uplink.conf
            lease 25 bbb p-gruen 192.168.178.150/24 192.168.178.1 192.168.178.1 02:aa:bb:cc:dd:ee 3600 192.168.178.150/24 192.168.178.1

            """
        let state = try #require(LabState(text: text))
        #expect(state.leases.count == 1)
        #expect(state.leases.first?.interface == LabInterface(name: "bbb", namespace: "p-gruen"))
        #expect(state.leases.first?.lease.address.description == "192.168.178.150")
        #expect(state.leases.first?.applied.router == IPAddress("192.168.178.1"))
        #expect(state.text == text)
        #expect(LabState(text: text.replacingOccurrences(of: "/24 192", with: "/99 192")) == nil)
    }

    @Test func aRealNICIsToldFromVirtualLinksBySysfs() throws {
        let sysfs = try FileSystem.makeTemporaryDirectory(prefix: "mlt-sysfs")
        defer { FileSystem.removeTree(sysfs) }
        for path in ["/class", "/class/net", "/class/net/enp5s0", "/class/net/veth0"] {
            try FileSystem.mkdir(sysfs + path, mode: 0o755)
        }
        try FileSystem.mkdir(sysfs + "/class/net/enp5s0/device", mode: 0o755)
        #expect(DHCPClient.isRealNIC("enp5s0", sysfs: sysfs))
        #expect(!DHCPClient.isRealNIC("veth0", sysfs: sysfs))
        #expect(!DHCPClient.isRealNIC("nothere", sysfs: sysfs))
        #expect(!DHCPClient.isRealNIC("../enp5s0", sysfs: sysfs + "/class"))
        #expect(!DHCPClient.isRealNIC("lo"))
    }
}
