import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import Namespaces
import Netlink
import Testing

/// `smtpd -N NS` takes the namespace's `/etc/netns/NS/resolv.conf` as its /etc/resolv.conf,
/// as `ip netns exec NS` would give it: every lookup of the relay asks the lab's name server.
@Suite(.enabled(if: isRoot, "needs root"), .requires(.ip, .smtpd))
struct SmtpdNamespaceResolverTests {
    /// The resolv.conf smtpd sees, read through its own root (its mount namespace).
    func resolvConf(of smtpd: SmtpdProcess) -> String {
        readText("/proc/\(smtpd.pid)/root/etc/resolv.conf")
    }

    /// Starts smtpd -N in `namespace`, listening on its loopback, and waits until it listens.
    func start(in namespace: String, directory: TempDir) throws -> SmtpdProcess {
        let smtpd = try SmtpdProcess(
            config: seedConfig(maildir: directory.path + "/Maildir", port: "2525"),
            directory: directory, port: 2525, extraArguments: ["-N", namespace],
            readyHost: nil)
        if !smtpd.waitForLog("info: listening on", timeout: 15) {
            smtpd.stop()
            throw TestFailure("smtpd -N \(namespace) did not listen: \(smtpd.log)")
        }
        return smtpd
    }

    @Test func smtpdInANamespaceReadsTheNamespacesResolvConf() throws {
        let tag = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
        let own = "mlt-\(getpid())-\(tag)-res"
        let plain = "mlt-\(getpid())-\(tag)-nores"
        let etc = "/etc/netns/\(own)"
        var servers: [SmtpdProcess] = []
        defer {
            for server in servers { server.stop() }
            for name in [own, plain] where NetworkNamespace.exists(name) {
                try? NetworkNamespace.delete(name)
            }
            FileSystem.removeTree(etc)
        }
        let directory = try TempDir("netns-resolv")
        defer { directory.remove() }
        for name in [own, plain] {
            try NetworkNamespace.add(name)
            try NetlinkHandle(namespace: name).setUp("lo")
        }
        if !FileSystem.exists("/etc/netns") { try FileSystem.mkdir("/etc/netns", mode: 0o755) }
        try FileSystem.mkdir(etc, mode: 0o755)
        let text = "nameserver 10.213.53.1\nsearch lab\n"
        try FileSystem.writeFile(etc + "/resolv.conf", Array(text.utf8))

        let inside = try start(in: own, directory: directory)
        servers.append(inside)
        #expect(resolvConf(of: inside) == text)
        // Without /etc/netns/NS, smtpd keeps the host's file, as `ip netns exec` does.
        let other = try start(in: plain, directory: directory)
        servers.append(other)
        #expect(resolvConf(of: other) == readText("/etc/resolv.conf"))
        // The bind is smtpd's own: the host's file is untouched.
        #expect(readText("/etc/resolv.conf") != text)
    }
}
