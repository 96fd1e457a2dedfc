import ArgumentParser
import Glibc
import Lab
import LinuxSystem
import Netlink

/// `mlab ping [-n NS] [-c COUNT] [-W SECS] [-i SECS] ADDRESS`, as iputils' ping.
struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Send ICMP echo requests (IPv4 or IPv6) and print each reply's round trip.",
        discussion: """
            Like ping -c COUNT -W SECS: one request per interval, a line per reply, then the \
            count of lost requests and the minimum, average and maximum round trip. Exits 0 if \
            any reply came, 1 if none. Uses an ICMP datagram socket where \
            net.ipv4.ping_group_range allows it, else a raw ICMP socket (root; a new namespace \
            allows no group).
            """)

    @OptionGroup var netns: NamespaceOption
    @Option(name: .customShort("c"), help: "Number of echo requests.") var count = 4
    @Option(name: .customShort("W"), help: "Seconds to wait for each reply.") var wait: Double = 1
    @Option(name: .customShort("i"), help: "Seconds between requests.") var interval: Double = 1
    @Argument(help: "IPv4 or IPv6 address.") var address: String

    func validate() throws {
        guard IPAddress(address) != nil else {
            throw ValidationError("\"\(address)\" is not an IPv4 or IPv6 address")
        }
        guard count > 0 else { throw ValidationError("-c needs a count of at least 1") }
        guard wait > 0, interval >= 0 else {
            throw ValidationError("-W needs a positive number of seconds, -i zero or more")
        }
    }

    func run() throws {
        let target = IPAddress(address)!
        let pinger = try speakingMLab("ping \(address)", namespace: netns.namespace) {
            try Pinger(in: netns.namespace, to: target)
        }
        let from = netns.namespace.map { " from namespace \($0)" } ?? ""
        writeToStandardOutput(
            "PING \(target)\(from): \(Pinger.payloadSize) data bytes (\(pinger.kind.rawValue))\n")
        var summary = PingSummary()
        for sequence in 1...count {
            let started = Clock.monotonicSeconds()
            summary.transmitted += 1
            do {
                if let reply = try pinger.ping(
                    sequence: UInt16(truncatingIfNeeded: sequence),
                    timeoutMilliseconds: Int(wait * 1000))
                {
                    summary.replies.append(reply)
                    writeToStandardOutput(
                        "\(reply.bytes) bytes from \(reply.from): icmp_seq=\(sequence) time=\(formatMilliseconds(reply.roundTripMilliseconds)) ms\n"
                    )
                } else {
                    writeToStandardOutput("no reply for icmp_seq=\(sequence) within \(wait) s\n")
                }
            } catch {
                writeToStandardOutput("icmp_seq=\(sequence): \(error.reason)\n")
            }
            let elapsed = Clock.monotonicSeconds() - started
            if sequence < count && elapsed < interval { Clock.sleep(seconds: interval - elapsed) }
        }
        writeToStandardOutput("--- \(target) ping statistics ---\n")
        for line in summary.lines { writeToStandardOutput(line + "\n") }
        if summary.received == 0 { throw ExitCode(1) }
    }
}

extension PingCommand: PrivilegedVerb {
    var needsPrivileges: Bool { netns.namespace != nil }
}
