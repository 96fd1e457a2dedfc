import Foundation
import Glibc
import Lab
import LinuxSystem
import NamespaceTestSupport
import Namespaces
import Netlink
import Testing

/// `resolv` in real labs: up writes /etc/netns/NS/resolv.conf, down removes it (and only what
/// it wrote), a failed up rolls it back, and someone else's file stops up before it changes
/// anything.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip))
struct LabResolverTests {
    let text = """
        netns g
        netns d
        veth a@g b@d
        addr a@g 10.5.0.2/24
        addr b@d 10.5.0.1/24
        resolv g nameserver 10.5.0.1 search lab
        """
    let expected =
        "# written by mlab lab up, removed by mlab lab down\nnameserver 10.5.0.1\nsearch lab\n"

    func spec(_ scratch: LabScratch) throws -> LabSpec {
        try LabParser.parse(text, file: "lab-resolv.conf", renaming: scratch.renaming)
    }

    func contents(_ path: String) -> String? {
        (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func upWritesTheNamespacesResolvConfAndDownRemovesIt() throws {
        try withLabScratch { scratch in
            let spec = try spec(scratch)
            let namespace = scratch.name("g")
            defer { FileSystem.removeTree(LabResolver.directory(of: namespace)) }
            _ = try Lab.up(spec)
            #expect(contents(LabResolver.path(of: namespace)) == expected)
            // What a program run as `ip netns exec` runs it sees.
            #expect(
                try NetworkNamespace.exec(
                    namespace,
                    arguments: ["grep", "-qx", "nameserver 10.5.0.1", "/etc/resolv.conf"]) == 0)
            #expect(try Lab.status(spec).isUp)
            #expect(try Lab.up(spec).isUnchanged)
            let undone = try Lab.down(spec)
            #expect(undone.contains("resolv g nameserver 10.5.0.1 search lab"))
            #expect(!FileSystem.exists(LabResolver.path(of: namespace)))
            #expect(!FileSystem.exists(LabResolver.directory(of: namespace)))
        }
    }

    @Test func downLeavesOtherFilesOfTheNamespacesEtc() throws {
        try withLabScratch { scratch in
            let spec = try spec(scratch)
            let directory = LabResolver.directory(of: scratch.name("g"))
            defer { FileSystem.removeTree(directory) }
            if !FileSystem.exists("/etc/netns") { try FileSystem.mkdir("/etc/netns", mode: 0o755) }
            try FileSystem.mkdir(directory, mode: 0o755)
            try FileSystem.writeFile(directory + "/hosts", Array("10.5.0.1 d\n".utf8))
            _ = try Lab.up(spec)
            _ = try Lab.down(spec)
            #expect(!FileSystem.exists(directory + "/resolv.conf"))
            #expect(contents(directory + "/hosts") == "10.5.0.1 d\n")
        }
    }

    @Test func aFailedUpRemovesTheResolvConfItWrote() throws {
        try withLabScratch { scratch in
            let spec = try spec(scratch)
            let namespace = scratch.name("g")
            defer { FileSystem.removeTree(LabResolver.directory(of: namespace)) }
            let error = #expect(throws: LabError.self) {
                try Lab.up(spec) { index, step in
                    if case .writeResolvConf = step.action { throw InjectedFault(index: index) }
                }
            }
            #expect(error?.rolledBack.first == "resolv g nameserver 10.5.0.1 search lab")
            #expect(!FileSystem.exists(LabResolver.path(of: namespace)))
            #expect(scratch.leftovers().isEmpty)
        }
    }

    @Test func someoneElsesResolvConfStopsUpBeforeAnyChange() throws {
        try withLabScratch { scratch in
            let spec = try spec(scratch)
            let directory = LabResolver.directory(of: scratch.name("g"))
            defer { FileSystem.removeTree(directory) }
            if !FileSystem.exists("/etc/netns") { try FileSystem.mkdir("/etc/netns", mode: 0o755) }
            try FileSystem.mkdir(directory, mode: 0o755)
            try FileSystem.writeFile(
                directory + "/resolv.conf", Array("nameserver 10.5.0.7\n".utf8))
            let error = #expect(throws: LabError.self) { try Lab.up(spec) }
            #expect(
                error?.message.contains(
                    "lab-resolv.conf:6: resolv g nameserver 10.5.0.1 search lab: \(directory)/resolv.conf exists with other contents"
                ) == true, "\(String(describing: error))")
            #expect(contents(directory + "/resolv.conf") == "nameserver 10.5.0.7\n")
            #expect(scratch.leftovers().isEmpty)
        }
    }
}
