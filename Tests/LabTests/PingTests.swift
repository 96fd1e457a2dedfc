import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import Namespaces
import Netlink
import Testing

/// `mlab ping` over the daisy lab (prefixed names), IPv4 and IPv6; ICMP echo unit pieces.
struct PingTests {
    /// The shipped daisy lab plus IPv6 on both of its networks (the shipped file has none).
    static func daisyWithIPv6(_ scratch: LabScratch) throws -> String {
        let path = "/tmp/mlt-ping-\(getpid())-\(scratch.name("g").suffix(7)).conf"
        let daisy = try String(contentsOfFile: confDirectory + "/lab-daisy.conf", encoding: .utf8)
        try
            (daisy + """
                addr ccc@gruen fd00:1::2/64
                addr ddd@blau fd00:1::1/64
                addr eee@blau fd00:2::1/64
                addr fff@rot fd00:2::2/64
                route gruen fd00:2::/64 via fd00:1::1
                route rot fd00:1::/64 via fd00:2::1

                """).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: isRoot && access(mlabPath, X_OK) == 0, "needs root and a built mlab"))
    func pingAcrossTheDaisyLabV4AndV6ThenLossWhenALinkIsDown() throws {
        try withLabScratch { scratch in
            let path = try Self.daisyWithIPv6(scratch)
            defer { unlink(path) }
            let lab = ["--netns-prefix", scratch.prefix, path]
            let (up, _, upErrors) = try mlab(["lab", "up", "--quiet"] + lab)
            try #require(up == 0, "\(upErrors)")
            let gruen = scratch.name("gruen")
            for target in ["20.0.0.2", "fd00:2::2"] {
                // -W 5: on a lab just up, the first IPv6 reply takes ~2 s, the neighbour
                // discovery waiting for the link-local addresses' DAD (the lab's own addresses
                // are nodad, the kernel's link-local ones are not).
                let (code, output, errors) = try mlab([
                    "ping", "-n", gruen, "-c", "3", "-i", "0.05", "-W", "5", target,
                ])
                #expect(code == 0, "\(output)\(errors)")
                #expect(output.hasPrefix("PING \(target) from namespace \(gruen): 56 data bytes"))
                for sequence in 1...3 {
                    #expect(
                        output.contains("64 bytes from \(target): icmp_seq=\(sequence) time="),
                        "\(output)")
                }
                #expect(output.contains("3 packets transmitted, 3 received, 0% packet loss"))
                #expect(output.contains("rtt min/avg/max = "))
            }
            try NetlinkHandle(namespace: scratch.name("rot")).setDown("fff")
            for target in ["20.0.0.2", "fd00:2::2"] {
                let (code, output, _) = try mlab([
                    "ping", "-n", gruen, "-c", "2", "-i", "0", "-W", "0.3", target,
                ])
                #expect(code == 1)
                #expect(output.contains("no reply for icmp_seq=1"), "\(output)")
                #expect(output.contains("2 packets transmitted, 0 received, 100% packet loss"))
                #expect(!output.contains("rtt"))
            }
            _ = try mlab(["lab", "down", "--quiet"] + lab)
        }
    }

    @Test(.enabled(if: isRoot && access(mlabPath, X_OK) == 0, "needs root and a built mlab"))
    func aNamespaceThatAllowsPingSocketsGetsTheDatagramSocket() throws {
        try withLabScratch { scratch in
            let spec = try scratch.load("daisy")
            _ = try Lab.up(spec)
            let rot = scratch.name("rot")
            try iproute(
                "netns", "exec", rot, "sh", "-c", "echo 0 0 > /proc/sys/net/ipv4/ping_group_range")
            let (code, output, _) = try mlab(["ping", "-n", rot, "-c", "1", "10.0.0.2"])
            #expect(code == 0, "\(output)")
            #expect(output.contains("(ICMP datagram socket)"), "\(output)")
            #expect(output.contains("64 bytes from 10.0.0.2: icmp_seq=1 time="))
            let (_, inGruen, _) = try mlab([
                "ping", "-n", scratch.name("gruen"), "-c", "1", "20.0.0.2",
            ])
            #expect(
                inGruen.contains("(raw ICMP socket)"),
                "a fresh namespace allows no group: \(inGruen)")
        }
    }

    @Test func badArgumentsAreRefusedBeforeAnythingIsSent() throws {
        let (code, _, errors) = try mlab(["ping", "-c", "0", "127.0.0.1"])
        #expect(code != 0)
        #expect(errors.contains("-c needs a count of at least 1"))
        let (_, _, notAnAddress) = try mlab(["ping", "gruen"])
        #expect(notAnAddress.contains("\"gruen\" is not an IPv4 or IPv6 address"))
    }

    @Test func summaryCountsLossAndRoundTrips() {
        var summary = PingSummary()
        summary.transmitted = 4
        let from = IPAddress("10.0.0.2")!
        summary.replies = [1.5, 0.25, 2.0].enumerated().map {
            PingReply(
                sequence: UInt16($0.offset + 1), bytes: 64, from: from,
                roundTripMilliseconds: $0.element)
        }
        #expect(
            summary.lines == [
                "4 packets transmitted, 3 received, 25% packet loss",
                "rtt min/avg/max = 0.250/1.250/2.000 ms",
            ])
        #expect(PingSummary().lines == ["0 packets transmitted, 0 received, 0% packet loss"])
        #expect(formatMilliseconds(0.0004) == "0.000")
        #expect(formatMilliseconds(12.3456) == "12.346")
    }
}
