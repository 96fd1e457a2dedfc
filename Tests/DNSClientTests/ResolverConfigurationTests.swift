import DNSClient
import Glibc
import LinuxSystem
import Testing

@Suite struct ResolverConfigurationTests {
    @Test func readsNameserversSearchAndOptionsAsGlibcDoes() {
        let text = """
            # written by mlab
            nameserver 10.0.0.53
            nameserver fd00::53   # comment after
            domain first.example
            search lab.example other.example
            options ndots:2 timeout:1 attempts:3 rotate
            """
        let (configuration, diagnostics) = ResolverConfiguration.parse(text, file: "r.conf")
        #expect(diagnostics.isEmpty)
        #expect(
            configuration.nameservers == [
                .v4(host: "10.0.0.53", port: 53), .v6(host: "fd00::53", port: 53, scope: 0),
            ])
        #expect(configuration.search == ["lab.example", "other.example"])
        #expect(configuration.ndots == 2)
        #expect(configuration.timeout == 1)
        #expect(configuration.attempts == 3)
    }

    @Test func glibcLimitsAndDefaultsApply() {
        let text = """
            nameserver 10.0.0.1
            nameserver 10.0.0.2
            nameserver 10.0.0.3
            nameserver 10.0.0.4
            options timeout:99 attempts:99 ndots:99
            """
        let (configuration, diagnostics) = ResolverConfiguration.parse(text, file: "r.conf")
        #expect(configuration.nameservers.count == 3)
        #expect(diagnostics.map(\.description) == ["r.conf:4: more than 3 name servers: ignored"])
        #expect(configuration.timeout == 30 && configuration.attempts == 5)
        #expect(configuration.ndots == 15)
        let (empty, _) = ResolverConfiguration.parse("", file: "r.conf")
        #expect(empty.nameservers == [.v4(host: "127.0.0.1", port: 53)])
        #expect(empty.timeout == 5 && empty.attempts == 2 && empty.ndots == 1)
    }

    @Test func badLinesAreReportedWithFileAndLineAndSkipped() {
        let text = "nameserver example.org\nnameservr 10.0.0.1\noptions ndots\nsearch\n"
        let (configuration, diagnostics) = ResolverConfiguration.parse(text, file: "r.conf")
        #expect(
            diagnostics.map(\.description) == [
                "r.conf:1: nameserver needs an IPv4 or IPv6 address",
                "r.conf:2: unknown keyword \"nameservr\": ignored",
                "r.conf:3: options ndots needs :NUMBER",
                "r.conf:4: search needs a domain",
            ])
        #expect(configuration.nameservers == [ResolverConfiguration.defaultNameserver])
    }

    @Test func searchCandidatesFollowNdots() {
        var configuration = ResolverConfiguration(
            nameservers: [], search: ["lab.example", "b.example."])
        #expect(configuration.candidates(for: "mx") == ["mx.lab.example", "mx.b.example", "mx"])
        #expect(
            configuration.candidates(for: "mx.rot") == [
                "mx.rot", "mx.rot.lab.example", "mx.rot.b.example",
            ])
        #expect(configuration.candidates(for: "mx.") == ["mx"])
        configuration.ndots = 2
        #expect(configuration.candidates(for: "mx.rot").last == "mx.rot")
    }

    @Test func aNamespaceWithItsOwnResolvConfUsesIt() throws {
        let name = "dnst-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(ResolverConfiguration.path(forNamespace: name) == "/etc/resolv.conf")
        #expect(ResolverConfiguration.path(forNamespace: nil) == "/etc/resolv.conf")
        guard getuid() == 0 else { return }
        let directory = "/etc/netns/\(name)"
        defer { FileSystem.removeTree(directory) }
        if !FileSystem.exists("/etc/netns") { try FileSystem.mkdir("/etc/netns", mode: 0o755) }
        try FileSystem.mkdir(directory, mode: 0o755)
        try FileSystem.writeFile(directory + "/resolv.conf", Array("nameserver 10.9.9.9\n".utf8))
        #expect(ResolverConfiguration.path(forNamespace: name) == directory + "/resolv.conf")
        let (resolver, _) = try DNSResolver.forNamespace(name)
        #expect(resolver.configuration.nameservers == [.v4(host: "10.9.9.9", port: 53)])
        #expect(resolver.namespace == name)
    }
}
