import DNSClient
import Foundation
import Glibc
import Lab
import LinuxSystem
import MailLabTestSupport
import NamespaceTestSupport
import Namespaces
import Netlink
import Testing

/// The shipped mail lab (conf/lab-mail.conf) keeps DNS inside: every namespace an smtpd runs
/// in has a resolv.conf of its own naming only the lab's server, and no route off the lab.
@Suite(.enabled(if: isRoot, "needs root (namespaces)"), .requires(.ip))
struct MailLabIsolationTests {
    static let labFile = packageRoot + "/conf/lab-mail.conf"

    /// Name servers no lab namespace may reach: the host's own (except loopback ones, which
    /// inside a namespace are that namespace's loopback) and well-known public resolvers.
    static var outsideResolvers: [SocketAddress] {
        let host = (try? ResolverConfiguration.load("/etc/resolv.conf"))?.0.nameservers ?? []
        let known = [
            "8.8.8.8", "1.1.1.1", "9.9.9.9", "2001:4860:4860::8888", "2606:4700:4700::1111",
        ]
        .compactMap { SocketAddress(ip: $0, port: 53) }
        return host.filter { !$0.isLoopback } + known
    }

    /// connect(2) of a UDP socket inside `namespace`: the kernel only looks the route up, no
    /// packet leaves. Returns 0 or the errno.
    static func udpConnect(_ address: SocketAddress, in namespace: String) throws -> Int32 {
        try NetworkNamespace.run(in: namespace) { () -> Int32 in
            let fd = socket(address.family, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return errno }
            defer { close(fd) }
            return address.withSockaddr { connect(fd, $0, $1) } == 0 ? 0 : errno
        }
    }

    @Test func smtpdNamespacesReachNoResolverOutsideTheLab() throws {
        sweepStaleNamespaces(prefix: "dnsi")
        let tag = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
        let prefix = "dnsi-\(getpid())-\(tag)-"
        let text = try String(contentsOfFile: Self.labFile, encoding: .utf8)
        var spec = try LabParser.parse(
            text, file: Self.labFile, renaming: LabRenaming(namespacePrefix: prefix))
        let smtpdNamespaces = spec.servers.compactMap { server -> String? in
            if case .smtpd = server.kind { return server.namespace }
            return nil
        }
        #expect(smtpdNamespaces.count == 3)
        // The network and the resolv.conf files, not the servers (what they reach is the
        // question, not what they do).
        spec.servers = []
        defer {
            _ = try? Lab.down(spec)
            for name in (try? NetworkNamespace.list()) ?? [] where name.hasPrefix(prefix) {
                try? NetworkNamespace.delete(name)
                FileSystem.removeTree(LabResolver.directory(of: name))
            }
        }
        _ = try Lab.up(spec)
        let labAddresses = Set(spec.addresses.map { "\($0.prefix.address)" })
        for namespace in try #require(smtpdNamespaces as [String?]).compactMap({ $0 }) {
            let path = ResolverConfiguration.path(forNamespace: namespace)
            #expect(path == LabResolver.path(of: namespace), "\(namespace) has no resolv.conf")
            let (configuration, diagnostics) = try ResolverConfiguration.load(path)
            #expect(diagnostics.isEmpty)
            for server in configuration.nameservers {
                #expect(labAddresses.contains(server.host), "\(namespace): \(server) is outside")
                // The lab's server is reachable (so a refusal below is the route, not the test).
                #expect(try Self.udpConnect(server, in: namespace) == 0)
            }
            #expect(try iproute("-n", namespace, "-4", "route", "show", "default").isEmpty)
            #expect(try iproute("-n", namespace, "-6", "route", "show", "default").isEmpty)
            for outside in Self.outsideResolvers {
                let result = try Self.udpConnect(outside, in: namespace)
                #expect(
                    result == ENETUNREACH,
                    "\(namespace) has a route to \(outside.host) (connect: \(result == 0 ? "ok" : String(cString: strerror(result))))"
                )
            }
        }
    }
}
