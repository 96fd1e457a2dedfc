import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import MailLabTestSupport
import Namespaces
import Netlink
import Testing

/// The low-level verbs in mlab's words: privileges up front, errors naming the verb and the
/// user's names, `link list` with carrier and peer, `route del` as `ip route del`.
@Suite(.enabled(if: isRoot && access(mlabPath, X_OK) == 0, "needs root and a built mlab"))
struct MLabVerbTests {
    @Test(arguments: [
        ["lab", "up", "SEED"], ["netns", "add", "NAME"], ["link", "list"],
        ["nc", "--netns", "NAME", "127.0.0.1", "9"],
    ])
    func anUnprivilegedUserReadsOneLineSayingMlabNeedsRoot(arguments: [String]) throws {
        let name = "mlt-\(getpid())-nobody"
        defer { try? NetworkNamespace.delete(name) }
        let resolved = arguments.map {
            $0 == "SEED" ? confDirectory + "/lab-seed.conf" : $0 == "NAME" ? name : $0
        }
        let (code, output, errors) = try run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", mlabPath] + resolved)
        #expect(code == 1)
        #expect(output == "")
        #expect(errors == "mlab: needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN)\n")
        #expect(!NetworkNamespace.exists(name))
    }

    @Test func anUnprivilegedUserStillGetsHelp() throws {
        let (code, output, _) = try run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", mlabPath, "lab", "up", "--help"])
        #expect(code == 0)
        #expect(output.contains("USAGE: mlab lab up"))
    }

    @Test func linkListShowsCarrierAndTheVethPeer() throws {
        try withLabScratch { scratch in
            _ = try Lab.up(try scratch.load("daisy"))
            let blau = scratch.name("blau")
            let (code, before, _) = try mlab(["link", "list", "-n", blau])
            #expect(code == 0)
            #expect(
                before.contains(
                    "ddd veth UP carrier yes mtu 1500 peer ccc@\(scratch.name("gruen"))"),
                "\(before)")
            #expect(
                before.contains("eee veth UP carrier yes mtu 1500 peer fff@\(scratch.name("rot"))"),
                "\(before)")
            try NetlinkHandle(namespace: scratch.name("rot")).setDown("fff")
            let (_, after, _) = try mlab(["link", "list", "-n", blau])
            #expect(after.contains("eee veth UP carrier no mtu 1500 peer fff@"), "\(after)")
        }
    }

    @Test func routeDelNeedsNeitherViaNorDev() throws {
        try withLabScratch { scratch in
            _ = try Lab.up(try scratch.load("daisy"))
            let rot = scratch.name("rot")
            #expect(try iproute("-n", rot, "route").contains("10.0.0.0/24 via 20.0.0.1"))
            let (code, _, errors) = try mlab(["route", "del", "-n", rot, "10.0.0.0/24"])
            #expect(code == 0, "\(errors)")
            #expect(!(try iproute("-n", rot, "route").contains("10.0.0.0/24")))
            let (again, _, missing) = try mlab(["route", "del", "-n", rot, "10.0.0.0/24"])
            #expect(again == 1)
            #expect(
                missing.contains("mlab route del 10.0.0.0/24: no such route in namespace \(rot)"),
                "\(missing)")
        }
    }

    @Test func errorsNameTheVerbTheNamespaceAndWhereTheInterfaceIs() throws {
        try withLabScratch { scratch in
            _ = try Lab.up(try scratch.load("seed"))
            let gruen = scratch.name("gruen")
            let host = scratch.name("host")
            // aaa is the end left in the lab's host: asked for in gruen, mlab says where it is.
            let (code, _, errors) = try mlab(["addr", "add", "-n", gruen, "10.0.0.9/24", "aaa"])
            #expect(code == 1)
            #expect(
                errors.contains(
                    "mlab addr add 10.0.0.9/24 aaa: no interface \"aaa\" in namespace \(gruen) (found in "
                ), "\(errors)")
            // Other tests' labs may have an aaa too: ours must be among the places named.
            #expect(errors.contains("namespace \(host)"), "\(errors)")
            #expect(!errors.contains("ip -n"))
            let (_, _, typo) = try mlab(["link", "up", "-n", gruen, "bbbb"])
            #expect(
                typo.contains("no interface \"bbbb\" in namespace \(gruen) (did you mean bbb?)"),
                "\(typo)")
            let (_, _, noNamespace) = try mlab(["link", "list", "-n", gruen + "x"])
            #expect(
                noNamespace.contains(
                    "mlab link list: no namespace \"\(gruen)x\" (did you mean \(gruen)?)"),
                "\(noNamespace)")
        }
    }

    func run(_ path: String, _ arguments: [String]) throws -> (Int32, String, String) {
        let result = try runToEnd(path, arguments)
        return (result.status, result.output, result.errors)
    }
}
