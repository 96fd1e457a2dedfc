import DNSClient
import Foundation
import Glibc
import Lab
import Namespaces
import MailLabTestSupport
import NamespaceTestSupport
import Testing

/// `mlab mx -n NS DOMAIN`, the real binary against dnsmasq in a lab.
@Suite(
    .enabled(if: isRoot, "needs root (namespaces)"), .requires(.dnsmasq, .mlab), .serialized)
struct MLabMXTests {
    func mx(_ arguments: String...) throws -> ProgramOutput {
        try runToEnd(ExternalTool.mlab.path, ["mx"] + arguments)
    }

    @Test func printsTheExchangersAsTheRelayUsesThem() throws {
        try withDNSLab { lab in
            let result = try mx("-n", lab.name("cli"), "mail.t.lab")
            #expect(result.status == 0, "\(result.errors)")
            #expect(
                result.output == """
                    mail.t.lab: 2 exchangers (asked 10.53.0.1 from \(lab.name("cli")))
                    10 mx1.t.lab fd00:53::25 10.53.0.25
                    20 mx2.t.lab 10.53.0.26

                    """)
            let implicit = try mx("-n", lab.name("cli"), "implicit.t.lab")
            #expect(implicit.output.hasSuffix("\n0 implicit.t.lab 10.53.0.30\n"))
        }
    }

    @Test func permanentFailuresExit1AndTemporaryOnes75() throws {
        try withDNSLab { lab in
            let missing = try mx("-n", lab.name("cli"), "nope.t.lab")
            #expect(missing.status == 1)
            #expect(
                missing.errors
                    == "mlab mx nope.t.lab: permanent failure: nope.t.lab MX: no such domain (NXDOMAIN) (asked 10.53.0.1 from \(lab.name("cli")))\n"
            )
            let null = try mx("-n", lab.name("cli"), "null.t.lab")
            #expect(null.status == 1)
            #expect(null.errors.contains("null MX, RFC 7505"))
            // srv's resolv.conf names 10.53.0.9, where nothing listens: port unreachable.
            let unreachable = try mx("-n", lab.name("srv"), "mail.t.lab")
            #expect(unreachable.status == 75, "\(unreachable.errors)")
            #expect(unreachable.errors.contains("temporary failure"))
        }
    }

    @Test func onlyALabNamespacesOwnNameServersAreAsked() throws {
        let without = try mx("rot.lab")
        #expect(without.status != 0)
        #expect(without.errors.contains("give -n NS"))
        try withDNSLab { lab in
            // A namespace of the lab without a resolv.conf of its own would fall back to the
            // host's: refused before any query.
            let bare = lab.name("bare")
            try NetworkNamespace.add(bare)
            defer { try? NetworkNamespace.delete(bare) }
            let result = try mx("-n", bare, "mail.t.lab")
            #expect(result.status == 1)
            #expect(
                result.errors
                    == "mlab mx mail.t.lab: namespace \(bare) has no /etc/netns/\(bare)/resolv.conf (a lab's resolv statement writes it)\n"
            )
        }
    }
}
