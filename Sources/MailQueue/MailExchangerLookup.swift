/// How the relay finds the next hops of a domain for `action NAME relay` without `host`
/// (MX relaying): MX records, then their addresses. The DNS client module implements it;
/// tests give one that answers with lab addresses. MailLab never looks anything up itself
/// without one: such recipients wait in the queue with a temporary failure.
public protocol MailExchangerLookup: Sendable {
    /// The exchangers of `domain`, lowest preference first (RFC 5321 §5.1: without MX
    /// records, the domain's own addresses as one exchanger of preference 0).
    func mailExchangers(for domain: String) throws(MailExchangerError) -> [MailExchanger]
}

/// One next hop of a domain.
public struct MailExchanger: Sendable, Hashable {
    public var preference: Int
    public var host: String
    /// IPv4 or IPv6 addresses (text), in the order to try them.
    public var addresses: [String]
    public var port: UInt16

    public init(preference: Int, host: String, addresses: [String], port: UInt16 = 25) {
        self.preference = preference
        self.host = host
        self.addresses = addresses
        self.port = port
    }
}

/// Why the exchangers of a domain are not known.
public struct MailExchangerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Permanent (the domain does not exist, a null MX of RFC 7505): its recipients bounce.
    /// Otherwise (a timeout, SERVFAIL) they stay queued.
    public var isPermanent: Bool
    public var reason: String

    public init(isPermanent: Bool, reason: String) {
        self.isPermanent = isPermanent
        self.reason = reason
    }

    public var description: String { reason }
}

/// Which exchangers a relay may hand a message to (RFC 5321 §5.1): when this server is one
/// of them, only those preferred over it (a lower preference value); as a `backup` MX, only
/// those preferred over the named one. Pure.
public enum ExchangerFilter {
    public enum Refusal: Error, Equatable {
        /// `backup`: nothing preferred over the named exchanger (OpenSMTPD defers: "No MX
        /// found for destination").
        case noneBelowBackup(String)
        /// This server is the best exchanger left: relaying would loop.
        case pointsToSelf
    }

    public static func usable(
        _ exchangers: [MailExchanger], backupName: String?, localNames: Set<String>,
        localEndpoints: Set<String>
    ) -> Result<[MailExchanger], Refusal> {
        func normal(_ name: String) -> String {
            var name = name.lowercased()
            if name.hasSuffix(".") { name.removeLast() }
            return name
        }
        let sorted = exchangers.sorted { $0.preference < $1.preference }
        if let backupName {
            // OpenSMTPD: without a preference for the name, every exchanger is tried.
            if let ours = sorted.first(where: { normal($0.host) == normal(backupName) }) {
                let better = sorted.filter { $0.preference < ours.preference }
                guard !better.isEmpty else { return .failure(.noneBelowBackup(backupName)) }
                return .success(better)
            }
            return .success(sorted)
        }
        let names = Set(localNames.map(normal))
        let selfPreference = sorted.first { mx in
            names.contains(normal(mx.host))
                || mx.addresses.contains { localEndpoints.contains("\($0) \(mx.port)") }
        }?.preference
        guard let selfPreference else { return .success(sorted) }
        let better = sorted.filter { $0.preference < selfPreference }
        return better.isEmpty ? .failure(.pointsToSelf) : .success(better)
    }
}
