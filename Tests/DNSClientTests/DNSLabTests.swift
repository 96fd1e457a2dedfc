import DNSClient
import DNSMessage
import Foundation
import Glibc
import Lab
import LinuxSystem
import MailLabTestSupport
import NamespaceTestSupport
import Namespaces
import Testing

/// A throw-away lab for one test: namespaces `dnst-PID-TAG-srv` (dnsmasq on 10.53.0.1; a
/// second address, 10.53.0.9, where no DNS server listens unless a test binds one, is srv's
/// own name server) and `…-cli` (the client, asking 10.53.0.1), joined by a veth. Nothing lives in the host; teardown runs `down` and deletes what is left.
final class DNSLab: @unchecked Sendable {
    let prefix: String
    let spec: LabSpec
    /// 40 exchangers of 40-byte names: the answer is far over UDP's 512 bytes.
    static let bigCount = 40

    /// The dnsmasq command line: only these records, nothing forwarded, nothing read.
    static var dnsmasq: String {
        var words = [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--pid-file", "--listen-address=10.53.0.1", "--bind-interfaces",
            "--local=/t.lab/", "--log-queries", "--log-facility=-",
            "--mx-host=mail.t.lab,mx1.t.lab,10", "--mx-host=mail.t.lab,mx2.t.lab,20",
            "--host-record=mx1.t.lab,10.53.0.25,fd00:53::25",
            "--host-record=mx2.t.lab,10.53.0.26",
            "--host-record=implicit.t.lab,10.53.0.30",
            // RFC 7505's null MX: preference 0, the root as exchange.
            "--dns-rr=null.t.lab,15,000000",
        ]
        for index in 0..<bigCount {
            words.append(
                "--mx-host=big.t.lab,exchanger-number-\(index)-with-a-long-name.t.lab,\(index)")
        }
        return words.joined(separator: " ")
    }

    init(extra: String = "") throws {
        sweepStaleNamespaces(prefix: "dnst")
        let tag = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
        prefix = "dnst-\(getpid())-\(tag)-"
        let text = """
            lab dns
            netns srv
            netns cli
            veth d0@srv c0@cli
            addr d0@srv 10.53.0.1/24
            addr d0@srv 10.53.0.9/24
            addr c0@cli 10.53.0.2/24
            resolv cli nameserver 10.53.0.1 search t.lab
            resolv srv nameserver 10.53.0.9
            run srv -- \(Self.dnsmasq)
            \(extra)
            """
        spec = try LabParser.parse(
            text, file: "dns-test.conf", renaming: LabRenaming(namespacePrefix: prefix))
    }

    func name(_ namespace: String) -> String { prefix + namespace }

    func up() throws {
        _ = try Lab.up(spec)
        try waitForDNS()
    }

    /// `run` is ready once dnsmasq has exec'd; its port opens a moment later.
    func waitForDNS() throws {
        let deadline = Clock.monotonicSeconds() + 10
        var resolver = try DNSResolver.forNamespace(name("cli")).0
        resolver.configuration.timeout = 1
        resolver.configuration.attempts = 1
        while case .failure(let error) = Result(catching: { () throws(DNSLookupError) in
            try resolver.query("mx1.t.lab", type: .a)
        }) {
            if Clock.monotonicSeconds() > deadline { throw error }
            Clock.sleep(seconds: 0.05)
        }
    }

    /// dnsmasq's log (its queries, with the client address).
    var dnsmasqLog: String {
        let directory = LabState.directory + "/" + spec.instanceName
        let names = (try? FileSystem.directoryEntries(directory)) ?? []
        guard let log = names.first(where: { $0.hasPrefix("dnsmasq@") }) else { return "" }
        return (try? String(contentsOfFile: directory + "/" + log, encoding: .utf8)) ?? ""
    }

    func teardown() {
        _ = try? Lab.down(spec)
        for name in (try? NetworkNamespace.list()) ?? [] where name.hasPrefix(prefix) {
            try? NetworkNamespace.delete(name)
        }
        for namespace in ["srv", "cli"] {
            FileSystem.removeTree(LabResolver.directory(of: name(namespace)))
        }
    }
}

func withDNSLab(extra: String = "", _ body: (DNSLab) throws -> Void) throws {
    let lab = try DNSLab(extra: extra)
    defer { lab.teardown() }
    try lab.up()
    try body(lab)
}

/// The error `body` throws (nil if it throws none), outside `#require(throws:)`, whose
/// expansion around typed throws crashes the 6.3 compiler here.
func lookupError(_ body: () throws(DNSLookupError) -> Any) -> DNSLookupError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// The resolver of `cli`, from its own resolv.conf.
func clientResolver(_ lab: DNSLab) throws -> DNSResolver {
    let (resolver, diagnostics) = try DNSResolver.forNamespace(lab.name("cli"))
    #expect(diagnostics.isEmpty)
    return resolver
}

@Suite(
    .enabled(if: isRoot, "needs root (namespaces)"), .requires(.dnsmasq),
    .serialized)
struct DNSLabTests {
    @Test func mxAnswersFromDnsmasqInAnotherNamespace() throws {
        try withDNSLab { lab in
            let resolver = try clientResolver(lab)
            #expect(resolver.configuration.nameservers == [.v4(host: "10.53.0.1", port: 53)])
            let exchangers = try resolver.mailExchangers(for: "mail.t.lab")
            #expect(
                exchangers == [
                    DNSMailExchanger(
                        preference: 10, host: "mx1.t.lab",
                        addresses: ["fd00:53::25", "10.53.0.25"]),
                    DNSMailExchanger(preference: 20, host: "mx2.t.lab", addresses: ["10.53.0.26"]),
                ])
            let aaaa = try resolver.query("mx1.t.lab", type: .aaaa)
            #expect(!aaaa.overTCP)
            #expect(
                aaaa.message.answers.map(\.data) == [
                    .aaaa([0xFD, 0, 0, 0x53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25])
                ])
            // The queries came over the veth, from the client's namespace.
            #expect(lab.dnsmasqLog.contains("query[MX] mail.t.lab from 10.53.0.2"))
        }
    }

    @Test func withoutMXTheDomainsOwnAddressIsTheExchanger() throws {
        try withDNSLab { lab in
            let exchangers = try clientResolver(lab).mailExchangers(for: "implicit.t.lab")
            #expect(
                exchangers == [
                    DNSMailExchanger(
                        preference: 0, host: "implicit.t.lab", addresses: ["10.53.0.30"])
                ])
        }
    }

    @Test func nullMXAndNXDOMAINArePermanentFailures() throws {
        try withDNSLab { lab in
            let resolver = try clientResolver(lab)
            let null = try #require(
                lookupError { () throws(DNSLookupError) in
                    try resolver.mailExchangers(for: "null.t.lab")
                })
            #expect(null.kind == .nullMX && null.isPermanent)
            let missing = try #require(
                lookupError { () throws(DNSLookupError) in
                    try resolver.mailExchangers(for: "nope.t.lab")
                })
            #expect(missing.kind == .noSuchDomain && missing.isPermanent)
        }
    }

    @Test func aTruncatedAnswerIsAskedAgainOverTCP() throws {
        try withDNSLab { lab in
            let resolver = try clientResolver(lab)
            let answer = try resolver.query("big.t.lab", type: .mx)
            #expect(answer.overTCP)
            #expect(answer.message.answers.count == DNSLab.bigCount)
            let preferences = answer.message.answers.compactMap { record -> UInt16? in
                if case .mx(let preference, _) = record.data { return preference }
                return nil
            }
            #expect(Set(preferences) == Set((0..<UInt16(DNSLab.bigCount))))
        }
    }

    @Test func aServerThatDoesNotAnswerIsATemporaryFailureWithinTheTimeout() throws {
        try withDNSLab { lab in
            // A UDP socket on 10.53.0.9:53 in srv that reads nothing and answers nothing.
            let mute = try NetworkNamespace.run(in: lab.name("srv")) { () throws -> Int32 in
                let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
                let bound = SocketAddress(ip: "10.53.0.9", port: 53)!.withSockaddr {
                    bind(fd, $0, $1)
                }
                guard fd >= 0, bound == 0 else {
                    throw SystemError("bind", "10.53.0.9:53", errno: errno)
                }
                return fd
            }
            defer { close(mute) }
            var configuration = ResolverConfiguration(
                nameservers: [.v4(host: "10.53.0.9", port: 53)])
            configuration.timeout = 1
            configuration.attempts = 2
            let resolver = DNSResolver(configuration: configuration, namespace: lab.name("cli"))
            let started = Clock.monotonicSeconds()
            let error = try #require(
                lookupError { () throws(DNSLookupError) in
                    try resolver.mailExchangers(for: "mail.t.lab")
                })
            let elapsed = Clock.monotonicSeconds() - started
            #expect(error.kind == .timeout)
            #expect(!error.isPermanent)
            // Two tries of one second each: not sooner, and not much later.
            #expect(elapsed >= 1.9 && elapsed < 4, "took \(elapsed) s")
        }
    }

    @Test func theNamespacesOwnResolvConfIsTheOneUsed() throws {
        try withDNSLab { lab in
            let client = lab.name("cli")
            #expect(
                ResolverConfiguration.path(forNamespace: client) == LabResolver.path(of: client))
            #expect(
                ResolverConfiguration.path(forNamespace: lab.name("none")) == "/etc/resolv.conf")
            // A program started in cli as `ip netns exec` starts it reads it as /etc/resolv.conf.
            let inside = try NetworkNamespace.exec(
                client, arguments: ["grep", "-qx", "nameserver 10.53.0.1", "/etc/resolv.conf"])
            #expect(inside == 0)
            // The resolver of cli asks the lab's server: its log shows the query.
            _ = try clientResolver(lab).query("mx2.t.lab", type: .a)
            #expect(lab.dnsmasqLog.contains("query[A] mx2.t.lab from 10.53.0.2"))
        }
    }
}
