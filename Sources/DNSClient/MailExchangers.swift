public import DNSMessage

/// One next hop of a mail domain (RFC 5321 §5.1): an exchanger host, its preference and its
/// addresses (text, IPv6 and IPv4 as the server gave them, AAAA first).
public struct DNSMailExchanger: Sendable, Hashable {
    public var preference: Int
    public var host: String
    public var addresses: [String]

    public init(preference: Int, host: String, addresses: [String]) {
        self.preference = preference
        self.host = host
        self.addresses = addresses
    }
}

/// The pure half of `mailExchangers(for:)`: what an MX answer means (RFC 5321 §5.1, RFC 7505).
public enum MailExchangerSelection {
    /// What the MX answer for a domain says to do next.
    public enum Plan: Sendable, Equatable {
        /// These hosts, in the order to try: preference ascending, shuffled among equals.
        case exchangers([(preference: Int, host: DNSName)])
        /// No MX records: the domain itself is the one exchanger, preference 0.
        case implicit(DNSName)

        public static func == (a: Plan, b: Plan) -> Bool {
            switch (a, b) {
            case (.implicit(let x), .implicit(let y)): return x == y
            case (.exchangers(let x), .exchangers(let y)):
                return x.map(\.preference) == y.map(\.preference) && x.map(\.host) == y.map(\.host)
            default: return false
            }
        }
    }

    /// Reads the answer to `domain MX`. Records are taken for the domain and for the names its
    /// CNAMEs lead to (a recursive server puts the chain in the answer). NXDOMAIN and a null
    /// MX throw permanent errors.
    public static func plan<G: RandomNumberGenerator>(
        domain: DNSName, answer: DNSMessage, using generator: inout G
    ) throws(DNSLookupError) -> Plan {
        let shown = domain.description
        if answer.header.responseCode == .nameError {
            throw DNSLookupError(name: shown, type: .mx, kind: .noSuchDomain)
        }
        let owners = aliases(of: domain, in: answer)
        var records: [(preference: Int, host: DNSName)] = []
        for record in answer.answers where owners.contains(record.name) {
            if case .mx(let preference, let exchange) = record.data {
                records.append((Int(preference), exchange))
            }
        }
        if records.isEmpty { return .implicit(owners.last ?? domain) }
        // RFC 7505 §3: a null MX is the only MX a domain has; one among others still says
        // the domain does not take mail.
        if records.contains(where: { $0.host.isRoot }) {
            throw DNSLookupError(name: shown, type: .mx, kind: .nullMX)
        }
        // RFC 5321 §5.1: "randomize them to spread the load" among equal preferences.
        records.shuffle(using: &generator)
        records.sort { $0.preference < $1.preference }
        // `sort` is not stable: shuffle again within each preference to keep it random but
        // grouped.
        var ordered: [(preference: Int, host: DNSName)] = []
        var index = 0
        while index < records.count {
            var end = index
            while end < records.count && records[end].preference == records[index].preference {
                end += 1
            }
            ordered += records[index..<end].shuffled(using: &generator)
            index = end
        }
        return .exchangers(ordered)
    }

    /// `domain` and the names its CNAME chain in `answer` leads to, in order (a loop ends it).
    public static func aliases(of domain: DNSName, in answer: DNSMessage) -> [DNSName] {
        var chain = [domain]
        while chain.count <= answer.answers.count {
            guard
                let next = answer.answers.lazy.compactMap({ record -> DNSName? in
                    guard record.name == chain.last!, case .cname(let target) = record.data
                    else { return nil }
                    return target
                }).first, !chain.contains(next)
            else { break }
            chain.append(next)
        }
        return chain
    }

    /// The addresses of `host` in an A or AAAA answer (through its CNAMEs), as text.
    public static func addresses(of host: DNSName, in answer: DNSMessage) -> [String] {
        let owners = aliases(of: host, in: answer)
        return answer.answers.compactMap { record in
            guard owners.contains(record.name) else { return nil }
            switch record.data {
            case .a(let bytes): return bytes.map(String.init).joined(separator: ".")
            case .aaaa(let bytes): return ipv6Text(bytes)
            default: return nil
            }
        }
    }

    /// RFC 5952 text for 16 bytes: lower-case hex, the longest run of zero groups as `::`.
    static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = stride(from: 0, to: 16, by: 2).map {
            UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1])
        }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > best.length && end - index > 1 { best = (index, end - index) }
                index = end
            } else {
                index += 1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard best.start >= 0 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }
}

extension DNSResolver {
    /// The next hops for mail to `domain`, as RFC 5321 §5.1 says: its MX records by
    /// preference (random among equals), each exchanger with its AAAA and A addresses; without
    /// MX records the domain's own addresses as one exchanger of preference 0. An address
    /// literal (`[10.0.0.2]`) is its own exchanger. Permanent errors: NXDOMAIN, a null MX, no
    /// MX and no address, no exchanger with an address when every lookup said so for good.
    /// Temporary: SERVFAIL, timeouts, unreachable servers.
    ///
    /// Equivalent to: `dig $domain MX`, then `dig $exchanger AAAA` and `dig $exchanger A`.
    public func mailExchangers(for domain: String) throws(DNSLookupError) -> [DNSMailExchanger] {
        if domain.hasPrefix("["), domain.hasSuffix("]") {
            var literal = String(domain.dropFirst().dropLast())
            if literal.lowercased().hasPrefix("ipv6:") { literal.removeFirst(5) }
            return [DNSMailExchanger(preference: 0, host: domain, addresses: [literal])]
        }
        guard let name = DNSName(domain), !name.isRoot else {
            throw DNSLookupError(name: domain, type: .mx, kind: .badName)
        }
        var generator = SystemRandomNumberGenerator()
        let answer = try query(name.description, type: .mx)
        let plan = try MailExchangerSelection.plan(
            domain: name, answer: answer.message, using: &generator)
        switch plan {
        case .implicit(let host):
            let addresses = try addresses(of: host)
            guard !addresses.isEmpty else {
                throw DNSLookupError(name: domain, type: nil, kind: .noAddress)
            }
            return [DNSMailExchanger(preference: 0, host: host.description, addresses: addresses)]
        case .exchangers(let hosts):
            var result: [DNSMailExchanger] = []
            var temporary: DNSLookupError?
            for (preference, host) in hosts {
                do throws(DNSLookupError) {
                    let addresses = try addresses(of: host)
                    if !addresses.isEmpty {
                        result.append(
                            DNSMailExchanger(
                                preference: preference, host: host.description,
                                addresses: addresses))
                    }
                } catch {
                    if !error.isPermanent { temporary = temporary ?? error }
                }
            }
            if result.isEmpty {
                throw temporary ?? DNSLookupError(name: domain, type: nil, kind: .noAddress)
            }
            return result
        }
    }

    /// AAAA then A addresses of `host`; NXDOMAIN is no address (permanent), a failure of
    /// either query is thrown.
    func addresses(of host: DNSName) throws(DNSLookupError) -> [String] {
        var result: [String] = []
        for type in [DNSRecordType.aaaa, .a] {
            let answer = try query(host.description, type: type)
            if answer.message.header.responseCode == .nameError { return [] }
            result += MailExchangerSelection.addresses(of: host, in: answer.message)
        }
        return result
    }
}
