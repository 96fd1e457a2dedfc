import Glibc
import LinuxSystem
import Reactor
import SMTPConfig

/// Turns `listen on WORD` into socket addresses, in OpenSMTPD's order: an interface name
/// (all its addresses in this network namespace), an IP literal, then a name from
/// /etc/hosts (`localhost`). Never DNS.
func resolveListenTarget(_ directive: ListenDirective, interfaces: [InterfaceAddress])
    throws(ServerError) -> [SocketAddress]
{
    let location = directive.location.description
    func keep(_ address: SocketAddress) -> Bool {
        switch directive.family {
        case .any: true
        case .inet4: !address.isIPv6
        case .inet6: address.isIPv6
        }
    }
    let found: [SocketAddress]
    switch directive.target {
    case .socket:
        return []  // MailLab has no local enqueuer socket; nothing to bind.
    case .address(let literal):
        guard let address = SocketAddress(ip: literal, port: directive.port) else {
            throw ServerError("listen on \(literal): not an IP address", location: location)
        }
        found = [address]
    case .interface(let word):
        let onInterface = interfaces.filter { $0.interface == word }
        if !onInterface.isEmpty {
            found = onInterface.map { $0.address.withPort(directive.port) }
        } else if let address = SocketAddress(ip: word, port: directive.port) {
            found = [address]
        } else {
            let fromHosts = HostNames.hostsFileAddresses(for: word).compactMap {
                SocketAddress(ip: $0, port: directive.port)
            }
            guard !fromHosts.isEmpty else {
                let names = Set(interfaces.map(\.interface)).sorted().joined(separator: ", ")
                throw ServerError(
                    "listen on \(word): no such interface in this network namespace "
                        + "(interfaces: \(names.isEmpty ? "none" : names)), and not an address "
                        + "or a name in /etc/hosts",
                    location: location)
            }
            found = fromHosts
        }
    }
    let kept = found.filter(keep)
    guard !kept.isEmpty else {
        throw ServerError(
            "listen on \(directive.target): no address of the requested family", location: location)
    }
    return kept
}

extension ListenTarget: CustomStringConvertible {
    public var description: String {
        switch self {
        case .interface(let word): word
        case .address(let address): address
        case .socket: "socket"
        }
    }
}

/// Raises the soft descriptor limit to the hard one; returns the limit in force.
func raiseDescriptorLimit() -> (before: Int, after: Int) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, 1024) }
    let before = Int(limit.rlim_cur)
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
            return (before, Int(raised.rlim_cur))
        }
    }
    return (before, before)
}
