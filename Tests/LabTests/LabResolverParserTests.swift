import Lab
import Netlink
import Testing

/// The `resolv` statement: parsing, its checks, and its record in the state file.
struct LabResolverParserTests {
    let base = "netns g\nnetns d\nveth a@g b@d\naddr a@g 10.5.0.2/24\naddr b@d 10.5.0.1/24\n"

    func errors(_ text: String) -> [String] {
        do {
            _ = try LabParser.parse(base + text, file: "t.conf")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func aResolvStatementNamesLabServersAndSearchDomains() throws {
        let spec = try LabParser.parse(
            base + "resolv g nameserver 10.5.0.1 search lab example.lab\n", file: "t.conf",
            renaming: LabRenaming(namespacePrefix: "p-"))
        #expect(
            spec.resolvers == [
                LabResolver(
                    namespace: "p-g", nameservers: [IPAddress("10.5.0.1")!],
                    search: ["lab", "example.lab"], line: 6)
            ])
        #expect(LabResolver.path(of: "p-g") == "/etc/netns/p-g/resolv.conf")
        #expect(
            LabResolver.contents(nameservers: [IPAddress("10.5.0.1")!], search: ["lab"])
                == "# written by mlab lab up, removed by mlab lab down\nnameserver 10.5.0.1\nsearch lab\n"
        )
    }

    @Test func aNameServerOutsideTheLabIsRefused() {
        #expect(
            errors("resolv g nameserver 8.8.8.8\n") == [
                "t.conf:6: name server 8.8.8.8 is no address of this lab (a lab's resolver must run inside it, e.g. dnsmasq with run)"
            ])
    }

    @Test func badResolvStatementsSayWhy() {
        let usage =
            "usage: resolv NS nameserver ADDRESS [nameserver ADDRESS …] [search DOMAIN …]"
        #expect(errors("resolv g\n") == ["t.conf:6: \(usage)"])
        #expect(errors("resolv g server 10.5.0.1\n") == ["t.conf:6: \(usage)"])
        #expect(errors("resolv g search lab\n") == ["t.conf:6: \(usage)"])
        #expect(
            errors("resolv g nameserver 10.5.0.300\n") == [
                "t.conf:6: malformed name server address \"10.5.0.300\""
            ])
        #expect(
            errors("resolv host nameserver 10.5.0.1\n") == [
                "t.conf:6: resolv host: the host's /etc/resolv.conf is not the lab's to write (name a namespace of the lab)"
            ])
        #expect(
            errors("resolv g nameserver 10.5.0.1\nresolv g nameserver 10.5.0.2\n") == [
                "t.conf:7: duplicate resolv for g (first on line 6)"
            ])
        #expect(
            errors("resolv x nameserver 10.5.0.1\n").first?.hasPrefix(
                "t.conf:6: unknown namespace \"x\"") == true)
    }

    @Test func theStateFileRecordsTheResolvConfItWrote() {
        let text =
            "lab x\nfile /tmp/x.conf\nmade resolv p-g 10.5.0.1,fd00::1 lab,example.lab\nmade resolv p-d 10.5.0.1 -\n"
        let state = LabState(text: text)
        #expect(state?.text == text)
        #expect(
            state?.made.first?.action
                == .writeResolvConf(
                    namespace: "p-g", nameservers: [IPAddress("10.5.0.1")!, IPAddress("fd00::1")!],
                    search: ["lab", "example.lab"]))
    }
}
