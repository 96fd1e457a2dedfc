import Glibc
import LinuxSystem
import Namespaces
public import Netlink

/// One echo reply.
public struct PingReply: Sendable, Equatable {
    public var sequence: UInt16
    /// ICMP bytes received (header and data), as ping prints them.
    public var bytes: Int
    public var from: IPAddress
    public var roundTripMilliseconds: Double

    public init(sequence: UInt16, bytes: Int, from: IPAddress, roundTripMilliseconds: Double) {
        self.sequence = sequence
        self.bytes = bytes
        self.from = from
        self.roundTripMilliseconds = roundTripMilliseconds
    }
}

/// ICMP echo (ping) from inside a namespace, IPv4 and IPv6.
///
/// The socket is an ICMP datagram socket (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`)
/// when the namespace allows it: the kernel picks the echo identifier, fills in the checksum
/// and hands this socket only the replies to its own requests, and no privilege is needed.
/// It is allowed only to groups in `net.ipv4.ping_group_range`, which is empty ("1 0") in
/// every new namespace, so in a lab namespace it fails with EACCES; then a raw ICMP socket is
/// used (CAP_NET_RAW, which every `-n` user has as root), which sees every ICMP packet of
/// the namespace: replies are matched by type, identifier and sequence. The range is not
/// changed: that would be a setting of the lab's namespace the lab file does not declare.
public final class Pinger {
    public enum SocketKind: String, Sendable {
        case datagram = "ICMP datagram socket"
        case raw = "raw ICMP socket"
    }

    public let target: IPAddress
    public let kind: SocketKind
    /// Data bytes after the 8-byte ICMP header (ping's default).
    public static let payloadSize = 56
    private let fd: Int32
    private let identifier: UInt16

    /// Opens the socket inside `namespace` (nil: the caller's).
    ///
    /// Equivalent to: `ip netns exec $namespace ping $target` (the socket part)
    public init(in namespace: String?, to target: IPAddress) throws {
        self.target = target
        let family = target.family
        let proto = target.isIPv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        let (fd, kind) = try NetworkNamespace.run(in: namespace) {
            () throws -> (Int32, SocketKind) in
            let datagram = socket(family, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), proto)
            if datagram >= 0 { return (datagram, .datagram) }
            guard errno == EACCES || errno == EPERM else {
                throw SystemError("socket", "ICMP datagram", errno: errno)
            }
            let raw = try checkedCall("socket", "raw ICMP") {
                socket(family, Int32(SOCK_RAW.rawValue | SOCK_CLOEXEC.rawValue), proto)
            }
            return (raw, .raw)
        }
        self.fd = fd
        self.kind = kind
        identifier = UInt16(truncatingIfNeeded: getpid() ^ Int32.random(in: 0...0xFFFF))
    }

    deinit { closeDescriptor(fd) }

    /// Sends echo request `sequence` and waits up to `timeoutMilliseconds` for its reply.
    /// Returns nil on timeout; throws when the request cannot be sent (e.g. no route).
    public func ping(sequence: UInt16, timeoutMilliseconds: Int) throws(SystemError) -> PingReply? {
        let started = Clock.monotonicNanoseconds()
        var packet: [UInt8] = [target.isIPv4 ? 8 : 128, 0, 0, 0]
        packet += [UInt8(identifier >> 8), UInt8(identifier & 0xFF)]
        packet += [UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += withUnsafeBytes(of: started.bigEndian) { Array($0) }
        packet += (0..<(Self.payloadSize - 8)).map { UInt8(truncatingIfNeeded: $0 + 8) }
        if target.isIPv4 {
            // IPv6's checksum covers a pseudo-header: the kernel always computes it.
            let sum = Self.checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xFF)
        }
        let destination = SocketAddress(target, port: 0)
        _ = try destination.withSockaddr { address, length throws(SystemError) in
            try checkedCall("sendto", "\(target)") {
                sendto(fd, packet, packet.count, 0, address, length)
            }
        }
        let deadline = started + UInt64(timeoutMilliseconds) * 1_000_000
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let now = Clock.monotonicNanoseconds()
            guard now < deadline else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32((deadline - now + 999_999) / 1_000_000)
            guard try checkedCall("poll", "\(target)", { poll(&poller, 1, wait) }) > 0 else {
                continue
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
                }
            }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw SystemError("recvfrom", "\(target)", errno: errno)
            }
            let received = Clock.monotonicNanoseconds()
            var icmp = Array(buffer[0..<count])
            // A raw IPv4 socket delivers the IP header too.
            if kind == .raw && target.isIPv4 {
                guard let first = icmp.first else { continue }
                let headerLength = Int(first & 0x0F) * 4
                guard icmp.count >= headerLength + 8 else { continue }
                icmp.removeFirst(headerLength)
            }
            guard icmp.count >= 8, icmp[0] == (target.isIPv4 ? 0 : 129), icmp[1] == 0 else {
                continue
            }
            let echoedSequence = UInt16(icmp[6]) << 8 | UInt16(icmp[7])
            let echoedIdentifier = UInt16(icmp[4]) << 8 | UInt16(icmp[5])
            // A datagram socket only sees its own replies (with the kernel's identifier).
            guard echoedSequence == sequence, kind == .datagram || echoedIdentifier == identifier
            else { continue }
            let from = Self.address(storage) ?? target
            guard from == target else { continue }
            return PingReply(
                sequence: sequence, bytes: icmp.count, from: from,
                roundTripMilliseconds: Double(received - started) / 1_000_000)
        }
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private static func address(_ storage: sockaddr_storage) -> IPAddress? {
        guard let decoded = SocketAddress(decoding: storage) else { return nil }
        return IPAddress(decoded.host)
    }
}

/// What a run of pings amounts to, as ping's last two lines say it.
public struct PingSummary: Sendable {
    public var transmitted = 0
    public var replies: [PingReply] = []

    public init() {}

    public var received: Int { replies.count }
    /// Percent of requests without a reply.
    public var lossPercent: Int {
        transmitted == 0 ? 0 : (transmitted - received) * 100 / transmitted
    }

    public var lines: [String] {
        var text = [
            "\(transmitted) packets transmitted, \(received) received, \(lossPercent)% packet loss"
        ]
        let times = replies.map(\.roundTripMilliseconds)
        if let low = times.min(), let high = times.max() {
            let average = times.reduce(0, +) / Double(times.count)
            text.append(
                "rtt min/avg/max = \(formatMilliseconds(low))/\(formatMilliseconds(average))/\(formatMilliseconds(high)) ms"
            )
        }
        return text
    }
}

/// Milliseconds with three decimals, as ping prints them.
public func formatMilliseconds(_ milliseconds: Double) -> String {
    let thousandths = Int((milliseconds * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
