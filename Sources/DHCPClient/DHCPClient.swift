public import DHCP
import Glibc
public import LinuxSystem
public import Namespaces
public import Netlink

/// A failure of the DHCP client, in the words of `mlab dhcp`: the interface, and what did
/// not come (or the system call, netlink request or namespace hop that failed).
public enum DHCPClientError: Error, Sendable, CustomStringConvertible {
    case system(interface: String, SystemError)
    case netlink(interface: String, NetlinkError)
    case namespace(interface: String, NamespaceError)
    /// The link has no 6-byte hardware address to put into `chaddr`.
    case noHardwareAddress(interface: String)
    /// No lease within the time allowed; what was sent and what came back.
    case noLease(interface: String, seconds: Double, sent: [String], notes: [String])
    /// The server refused (NAK after NAK).
    case refused(interface: String, String)

    public var description: String {
        switch self {
        case .system(let interface, let error): return "dhcp on \(interface): \(error)"
        case .netlink(let interface, let error): return "dhcp on \(interface): \(error)"
        case .namespace(let interface, let error): return "dhcp on \(interface): \(error.cause)"
        case .noHardwareAddress(let interface):
            return "dhcp on \(interface): the link has no Ethernet address"
        case .noLease(let interface, let seconds, let sent, let notes):
            let waited = seconds == seconds.rounded() ? "\(Int(seconds))" : "\(seconds)"
            var text =
                "dhcp on \(interface): no lease after \(waited) s (sent "
                + summarize(sent) + "; is a DHCP server on this network?)"
            for note in notes { text += "\n  \(note)" }
            return text
        case .refused(let interface, let why): return "dhcp on \(interface): \(why)"
        }
    }

    private func summarize(_ sent: [String]) -> String {
        var counts: [(String, Int)] = []
        for name in sent {
            if let index = counts.firstIndex(where: { $0.0 == name }) {
                counts[index].1 += 1
            } else {
                counts.append((name, 1))
            }
        }
        return counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
    }
}

/// What `apply` put on the interface, for `remove` to take off again.
public struct DHCPApplied: Sendable, Equatable {
    public var address: IPPrefix
    /// The default route via the lease's first router (nil: none handed out, or one existed).
    public var router: IPAddress?

    public init(address: IPPrefix, router: IPAddress?) {
        self.address = address
        self.router = router
    }
}

/// The client side of DHCP on a link of a namespace: a UDP socket on port 68 bound to the
/// link (SO_BINDTODEVICE), broadcasting to 255.255.255.255:67 and asking for broadcast
/// replies. dhclient and busybox udhcpc use an AF_PACKET socket and build IP and UDP
/// headers themselves; on Linux that is not needed: a limited broadcast sent on a bound
/// socket leaves with source 0.0.0.0 through the bound link without a route, and a limited
/// broadcast coming in is delivered to a socket on port 68 of a link without any address.
/// What it cannot receive is a unicast to the offered address, hence the broadcast flag.
public enum DHCPClient {
    public static let clientPort: UInt16 = 68
    public static let serverPort: UInt16 = 67
    /// Waits before retransmitting, in seconds (RFC 2131 §4.1 doubles from 4 s; a lab's
    /// server is one hop away, so this starts at 1 s).
    public static let retransmitDelays: [Double] = [1, 2, 4, 4, 4, 4, 4, 4]

    /// Gets a lease for `interface` in `namespace` (nil: the process's own); brings the link
    /// up first if it is down. Does not configure the address: see `apply`.
    ///
    /// Equivalent to: `ip netns exec $namespace dhclient -1 -n $interface` (lease only)
    public static func acquire(
        interface: String, namespace: String?, hostName: String? = nil, timeout: Double = 10,
        log: (String) -> Void = { _ in }
    ) throws(DHCPClientError) -> DHCPLease {
        let place = describe(interface, namespace)
        let hardware: [UInt8]
        do {
            let handle = try NetlinkHandle(namespace: namespace)
            let link = try handle.link(named: interface)
            hardware = link.hardwareAddress
            if !link.isUp { try handle.setUp(interface) }
        } catch {
            throw .netlink(interface: place, error)
        }
        // Loopback reports six zero bytes: no Ethernet to ask on.
        guard hardware.count == 6, hardware.contains(where: { $0 != 0 }) else {
            throw .noHardwareAddress(interface: place)
        }
        let fd = try openSocket(
            interface: interface, namespace: namespace, bindTo: .any, place: place)
        defer { closeDescriptor(fd) }
        var exchange = DHCPClientExchange(
            hardwareAddress: hardware, transactionID: UInt32.random(in: 1...UInt32.max),
            hostName: hostName)
        var sent: [String] = []
        var notes: [String] = []
        let start = Clock.monotonicSeconds()
        let deadline = start + timeout
        var nextRetransmit = 0
        var retransmitAt = deadline
        func carryOut(_ actions: [DHCPClientExchange.Action]) throws(DHCPClientError) -> DHCPLease?
        {
            for action in actions {
                switch action {
                case .send(let message):
                    try send(message, from: fd, to: .broadcast, place: place)
                    sent.append(message.messageType?.description ?? "message")
                    log("\(place): sent \(message.messageType!)")
                    let delay = retransmitDelays[min(nextRetransmit, retransmitDelays.count - 1)]
                    retransmitAt = Clock.monotonicSeconds() + delay
                case .bound(let lease): return lease
                case .log(let text):
                    notes.append(text)
                    log("\(place): \(text)")
                case .failed(let why): throw .refused(interface: place, why)
                }
            }
            return nil
        }
        if let lease = try carryOut(exchange.start()) { return lease }
        var buffer = [UInt8](repeating: 0, count: 1500)
        while true {
            let now = Clock.monotonicSeconds()
            if now >= deadline {
                throw .noLease(interface: place, seconds: timeout, sent: sent, notes: notes)
            }
            if now >= retransmitAt {
                nextRetransmit += 1
                if let lease = try carryOut(exchange.retransmit()) { return lease }
                continue
            }
            let wait = Int32(max(1, (min(deadline, retransmitAt) - now) * 1000))
            var event = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready: Int32
            do {
                ready = try checkedCall("poll", place) { poll(&event, 1, wait) }
            } catch {
                throw .system(interface: place, error)
            }
            guard ready > 0 else { continue }
            let received = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) -> Int in
                    try systemCall("recv", place, blocking: true) {
                        recv(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
                    } ?? 0
                }
            }
            let count: Int
            switch received {
            case .success(let value): count = value
            case .failure(let error): throw .system(interface: place, error)
            }
            if count > 0, let lease = try carryOut(exchange.receive(Array(buffer[..<count]))) {
                log("\(place): bound \(lease)")
                return lease
            }
        }
    }

    /// Puts the lease on the link: its address and, when the server handed out a router and
    /// the namespace has no default route yet, the default route via the first router.
    ///
    /// Equivalent to: `ip addr add $address/$length dev $interface; ip route add default via
    /// $router dev $interface`
    public static func apply(_ lease: DHCPLease, interface: String, namespace: String?)
        throws(DHCPClientError) -> DHCPApplied
    {
        let place = describe(interface, namespace)
        let prefix = IPPrefix(address: .v4(lease.address.value), length: lease.prefixLength)
        do {
            let handle = try NetlinkHandle(namespace: namespace)
            do {
                try handle.addAddress(prefix, to: interface)
            } catch  where error.errno == EEXIST {
                // Renewed or taken again: the same address is already there.
            }
            guard let router = lease.routers.first else {
                return DHCPApplied(address: prefix, router: nil)
            }
            let gateway = IPAddress.v4(router.value)
            if try handle.routes().contains(where: {
                $0.destination == nil && $0.family == AF_INET
            }) {
                return DHCPApplied(address: prefix, router: nil)
            }
            try handle.addRoute(nil, via: gateway, device: interface)
            return DHCPApplied(address: prefix, router: gateway)
        } catch {
            throw .netlink(interface: place, error)
        }
    }

    /// Sends the RELEASE (unicast from the leased address to the server), then takes what
    /// `apply` put on the link off again. A link or address already gone is no failure.
    ///
    /// Equivalent to: `dhclient -r $interface`
    public static func release(
        _ lease: DHCPLease, applied: DHCPApplied?, interface: String, namespace: String?
    ) throws(DHCPClientError) {
        let place = describe(interface, namespace)
        let fd = try openSocket(
            interface: interface, namespace: namespace, bindTo: lease.address, place: place)
        defer { closeDescriptor(fd) }
        try send(
            DHCPClientExchange.release(lease, transactionID: UInt32.random(in: 1...UInt32.max)),
            from: fd, to: lease.server, place: place)
        guard let applied else { return }
        do {
            let handle = try NetlinkHandle(namespace: namespace)
            if let router = applied.router {
                do {
                    try handle.deleteRoute(nil, via: router, device: interface)
                } catch  where [ESRCH, ENODEV].contains(error.errno) {}
            }
            do {
                try handle.deleteAddress(applied.address, from: interface)
            } catch  where [EADDRNOTAVAIL, ENODEV].contains(error.errno) {}
        } catch {
            throw .netlink(interface: place, error)
        }
    }

    /// True if `name` is a physical device of the host, which DHCP would reach the real
    /// network through: it has a `device` link under `SYSFS/class/net/NAME` (veths, bridges
    /// and loopback have none). Read in the caller's mount namespace: the host's /sys.
    public static func isRealNIC(_ name: String, sysfs: String = "/sys") -> Bool {
        !name.contains("/") && FileSystem.exists("\(sysfs)/class/net/\(name)/device")
    }

    static func describe(_ interface: String, _ namespace: String?) -> String {
        "\(interface)@\(namespace ?? "host")"
    }

    /// A UDP socket on port 68 of `address` (0.0.0.0 before there is a lease), bound to the
    /// link and allowed to broadcast, made inside the namespace (a socket stays in the
    /// namespace it was made in, whichever thread uses it later).
    static func openSocket(
        interface: String, namespace: String?, bindTo address: IPv4Address, place: String
    ) throws(DHCPClientError) -> Int32 {
        let result: Result<Int32, SystemError>
        do {
            result = try NetworkNamespace.perform(in: namespace) {
                Result { () throws(SystemError) -> Int32 in
                    let fd = try checkedCall("socket", "AF_INET SOCK_DGRAM") {
                        socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
                    }
                    do throws(SystemError) {
                        var on: Int32 = 1
                        let size = socklen_t(MemoryLayout<Int32>.size)
                        for (option, name) in [
                            (SO_REUSEADDR, "SO_REUSEADDR"), (SO_BROADCAST, "SO_BROADCAST"),
                        ] {
                            _ = try checkedCall("setsockopt", name) {
                                setsockopt(fd, SOL_SOCKET, option, &on, size)
                            }
                        }
                        _ = try checkedCall("setsockopt", "SO_BINDTODEVICE \(interface)") {
                            setsockopt(
                                fd, SOL_SOCKET, SO_BINDTODEVICE, interface,
                                socklen_t(interface.utf8.count))
                        }
                        let local = SocketAddress(ip: "\(address)", port: clientPort)!
                        _ = try local.withSockaddr { pointer, length throws(SystemError) in
                            try checkedCall("bind", "\(local)") { bind(fd, pointer, length) }
                        }
                        return fd
                    } catch {
                        closeDescriptor(fd)
                        throw error
                    }
                }
            }
        } catch {
            throw .namespace(interface: place, error)
        }
        switch result {
        case .success(let fd): return fd
        case .failure(let error): throw .system(interface: place, error)
        }
    }

    static func send(_ message: DHCPMessage, from fd: Int32, to server: IPv4Address, place: String)
        throws(DHCPClientError)
    {
        let bytes = message.bytes
        let destination = SocketAddress(ip: "\(server)", port: serverPort)!
        do {
            _ = try destination.withSockaddr { pointer, length throws(SystemError) in
                try bytes.withUnsafeBytes { raw in
                    Result { () throws(SystemError) -> Int in
                        try checkedCall("sendto", "\(destination)") {
                            sendto(
                                fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), pointer, length
                            )
                        }
                    }
                }.get()
            }
        } catch {
            throw .system(interface: place, error)
        }
    }
}
