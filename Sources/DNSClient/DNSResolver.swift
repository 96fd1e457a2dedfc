public import DNSMessage
import Glibc
public import LinuxSystem
import Namespaces

/// Why a name could not be looked up, or what its answer means for mail. `isPermanent` says
/// whether asking again can help: a permanent failure bounces, a temporary one waits.
public struct DNSLookupError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// NXDOMAIN: the name does not exist.
        case noSuchDomain
        /// RFC 7505's `MX 0 .`: the domain accepts no mail.
        case nullMX
        /// Neither MX records nor addresses (RFC 5321 §5.1), or no exchanger has an address.
        case noAddress
        /// Every server answered SERVFAIL, REFUSED or another error code.
        case serverFailure(DNSResponseCode)
        /// No server answered within `attempts` rounds of `timeout` seconds.
        case timeout
        /// The servers could not be reached (port closed, no route): errno and operation.
        case unreachable(String)
        /// A server's answer was not a DNS message.
        case malformed(String)
        /// The name cannot be a domain name (an empty label, over 255 bytes).
        case badName
    }

    public var name: String
    public var type: DNSRecordType?
    public var kind: Kind

    public init(name: String, type: DNSRecordType?, kind: Kind) {
        self.name = name
        self.type = type
        self.kind = kind
    }

    public var isPermanent: Bool {
        switch kind {
        case .noSuchDomain, .nullMX, .noAddress, .badName: true
        case .serverFailure, .timeout, .unreachable, .malformed: false
        }
    }

    public var description: String {
        let query = type.map { "\(name) \($0)" } ?? name
        switch kind {
        case .noSuchDomain: return "\(query): no such domain (NXDOMAIN)"
        case .nullMX: return "\(name): the domain accepts no mail (null MX, RFC 7505)"
        case .noAddress: return "\(name): no MX and no address"
        case .serverFailure(let code): return "\(query): name server answered \(code)"
        case .timeout: return "\(query): no name server answered"
        case .unreachable(let why): return "\(query): name servers unreachable: \(why)"
        case .malformed(let why): return "\(query): \(why)"
        case .badName: return "\(name): not a domain name"
        }
    }
}

/// An answer and where it came from.
public struct DNSAnswer: Sendable {
    /// NOERROR or NXDOMAIN (the servers' other codes are errors).
    public var message: DNSMessage
    public var server: SocketAddress
    /// True when the UDP answer was truncated and this one came over TCP.
    public var overTCP: Bool
}

/// A stub resolver as glibc's: each query goes to the configured servers in order, `attempts`
/// rounds, each try waiting `timeout` seconds; a truncated answer is asked again over TCP. A
/// server answering SERVFAIL or REFUSED is skipped for the next. With `namespace`, every
/// socket is made on a thread inside that network namespace (`ip netns exec NS dig …`); smtpd
/// runs inside its namespace already and gives none.
public struct DNSResolver: Sendable {
    public var configuration: ResolverConfiguration
    public var namespace: String?

    public init(configuration: ResolverConfiguration, namespace: String? = nil) {
        self.configuration = configuration
        self.namespace = namespace
    }

    /// The resolver of namespace `name` (nil: this process's), from the resolv.conf that
    /// applies there (`ResolverConfiguration.path(forNamespace:)`), with its diagnostics.
    public static func forNamespace(_ name: String?) throws(SystemError) -> (
        DNSResolver, [ResolverConfigurationDiagnostic]
    ) {
        let (configuration, diagnostics) = try ResolverConfiguration.load(
            ResolverConfiguration.path(forNamespace: name))
        return (DNSResolver(configuration: configuration, namespace: name), diagnostics)
    }

    /// Asks for `type` records of the absolute name `name`.
    ///
    /// Equivalent to: `dig $name $type` (res_query(3): no search list).
    public func query(_ name: String, type: DNSRecordType) throws(DNSLookupError) -> DNSAnswer {
        guard let dnsName = DNSName(name) else {
            throw DNSLookupError(name: name, type: type, kind: .badName)
        }
        let configuration = self.configuration
        let work = { () -> Result<DNSAnswer, DNSLookupError> in
            Result { () throws(DNSLookupError) in
                try Self.ask(dnsName, type: type, configuration: configuration, shown: name)
            }
        }
        guard let namespace else { return try work().get() }
        let result: Result<DNSAnswer, DNSLookupError>
        do {
            result = try NetworkNamespace.run(in: namespace) { work() }
        } catch {
            throw DNSLookupError(name: name, type: type, kind: .unreachable("\(error)"))
        }
        return try result.get()
    }

    private static func ask(
        _ name: DNSName, type: DNSRecordType, configuration: ResolverConfiguration,
        shown: String
    ) throws(DNSLookupError) -> DNSAnswer {
        var generator = SystemRandomNumberGenerator()
        var failure = DNSLookupError.Kind.timeout
        for _ in 0..<max(1, configuration.attempts) {
            for server in configuration.nameservers {
                // A fresh ID per try: a late answer to the previous try is not taken.
                let query = DNSMessage.query(id: generator.next(), name: name, type: type)
                do throws(DNSTransportFailure) {
                    let (answer, overTCP) = try DNSTransport.exchange(
                        query, with: server, timeout: Double(configuration.timeout))
                    switch answer.header.responseCode {
                    case .noError, .nameError:
                        return DNSAnswer(message: answer, server: server, overTCP: overTCP)
                    default:
                        failure = .serverFailure(answer.header.responseCode)
                    }
                } catch {
                    switch error {
                    case .timeout:
                        if case .serverFailure = failure {} else { failure = .timeout }
                    case .refused:
                        failure = .unreachable("\(server): connection refused")
                    case .system(let error):
                        failure = .unreachable("\(error)")
                    case .malformed(let error):
                        failure = .malformed("\(server): \(error)")
                    case .unexpectedReply:
                        failure = .malformed("\(server): a TCP reply to another query")
                    }
                }
            }
        }
        throw DNSLookupError(name: shown, type: type, kind: failure)
    }
}
