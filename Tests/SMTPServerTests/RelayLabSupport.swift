import Foundation
import Glibc
import MailLabTestSupport
import Namespaces
import Netlink
import Synchronization

/// A chain of throw-away namespaces for the relay tests: the host, then `count` namespaces,
/// each link a /30 of one random /24 of 10.214.0.0/16: link k joins namespace k-1 (the host
/// for k = 0) at `.4k+1` with namespace k at `.4k+2`. Every name carries the test's pid and a
/// random tag (`mlt-PID-…`, swept by NetlinkTests once this process is gone); teardown is
/// registered by the caller before `create`.
final class RelayChain {
    let tag = String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    let count: Int
    /// Labs of one test run take consecutive /24s (from a random start), so parallel tests
    /// never share a subnet.
    let third = RelayChain.nextSubnet.add(1, ordering: .relaxed).newValue % 256
    var servers: [SmtpdProcess?]
    let directory: TempDir

    static let nextSubnet = Atomic<Int>(Int.random(in: 0...255))

    init(count: Int) throws {
        self.count = count
        servers = Array(repeating: nil, count: count)
        directory = try TempDir("relay")
    }

    func namespace(_ index: Int) -> String { "mlt-\(getpid())-\(tag)-r\(index)" }
    /// Link `k`'s end in namespace k-1 (or the host) and in namespace k.
    func leftEnd(_ link: Int) -> String { "rl\(tag)\(link)a" }
    func rightEnd(_ link: Int) -> String { "rl\(tag)\(link)b" }
    func leftAddress(_ link: Int) -> String { "10.214.\(third).\(4 * link + 1)" }
    func rightAddress(_ link: Int) -> String { "10.214.\(third).\(4 * link + 2)" }

    func create() throws {
        for index in 0..<count { try NetworkNamespace.add(namespace(index)) }
        for link in 0..<count {
            let left =
                link == 0 ? try NetlinkHandle() : try NetlinkHandle(namespace: namespace(link - 1))
            let right = try NetlinkHandle(namespace: namespace(link))
            try left.addVeth(leftEnd(link), peer: rightEnd(link), peerNamespace: namespace(link))
            try left.addAddress(IPPrefix("\(leftAddress(link))/30")!, to: leftEnd(link))
            try right.addAddress(IPPrefix("\(rightAddress(link))/30")!, to: rightEnd(link))
            try left.setUp(leftEnd(link))
            try right.setUp(rightEnd(link))
            try right.setUp("lo")
        }
    }

    /// Starts smtpd in namespace `index` with `config`, waits until it listens.
    @discardableResult
    func start(_ index: Int, _ config: String, name: String) throws -> SmtpdProcess {
        let process = try SmtpdProcess(
            config: config, directory: directory, port: 25,
            extraArguments: ["-N", namespace(index), "-T", "smtp"], readyHost: nil)
        servers[index] = process
        guard process.waitForLog("info: listening on", timeout: 15) else {
            throw TestFailure("\(name) did not start: \(process.log)")
        }
        return process
    }

    /// Idempotent: servers first (their sockets keep namespaces alive), then the host's
    /// veth end, then the namespaces (their veths go with them).
    func teardown() {
        for server in servers { server?.stop() }
        if let host = try? NetlinkHandle(), (try? host.linkIfPresent(named: leftEnd(0))) != nil {
            try? host.deleteLink(leftEnd(0))
        }
        for index in 0..<count where NetworkNamespace.exists(namespace(index)) {
            try? NetworkNamespace.delete(namespace(index))
        }
        directory.remove()
    }

    func path(_ name: String) -> String { directory.path + "/" + name }
}

/// Sends one message over SMTP to `host:25`; returns the reply to the final dot.
func sendMail(
    host: String, port: UInt16 = 25, from: String, to: [String], subject: String,
    body: String = "hello"
) throws -> String {
    let client = try LineClient(host: host, port: port, timeout: 20)
    _ = try client.readReply()
    _ = try client.send("EHLO gruen-client.lab\r\n")
    _ = try client.readReply()
    let mail = try client.command("MAIL FROM:<\(from)>")
    guard mail.hasPrefix("250") else { return mail }
    for recipient in to {
        let reply = try client.command("RCPT TO:<\(recipient)>")
        guard reply.hasPrefix("250") else { return reply }
    }
    let data = try client.command("DATA")
    guard data.hasPrefix("354") else { return data }
    let reply = try client.command(
        "From: <\(from)>\r\nTo: <\(to[0])>\r\nSubject: \(subject)\r\n\r\n\(body)\r\n.")
    _ = try? client.command("QUIT")
    return reply
}

/// Waits until the spool at `root` holds no message.
func waitForEmptySpool(_ root: String, timeout: Double) -> Bool {
    eventually(within: timeout) { maildirFiles(root).isEmpty }
}
