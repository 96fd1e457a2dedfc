import Foundation
import Glibc
import MailLabTestSupport
import Namespaces
import Netlink
import SMTPClient
import Testing

/// Two throw-away namespaces joined by a veth: names `mlc-PID-TAG-ROLE`, deleted at the end
/// even when the test fails; stale ones of dead processes are swept first.
final class NamespacePair: @unchecked Sendable {
    let client: String
    let server: String
    let serverAddress: String
    let clientAddress: String
    private var created: [String] = []

    init() throws {
        for name in (try? NetworkNamespace.list()) ?? [] where name.hasPrefix("mlc-") {
            let parts = name.split(separator: "-")
            if parts.count >= 3, let pid = Int32(parts[1]), kill(pid, 0) != 0, errno == ESRCH {
                try? NetworkNamespace.delete(name)
            }
        }
        let tag = String((0..<4).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
        client = "mlc-\(getpid())-\(tag)-a"
        server = "mlc-\(getpid())-\(tag)-b"
        let subnet = "10.231.\(Int.random(in: 0...255))"
        serverAddress = "\(subnet).2"
        clientAddress = "\(subnet).1"
        created = [client, server]  // registered for teardown before they exist
        try NetworkNamespace.add(client)
        try NetworkNamespace.add(server)
        let clientHandle = try NetlinkHandle(namespace: client)
        let serverHandle = try NetlinkHandle(namespace: server)
        let clientLink = "c\(tag)\(getpid() % 100000)"
        let serverLink = "s\(tag)\(getpid() % 100000)"
        try clientHandle.addVeth(clientLink, peer: serverLink, peerNamespace: server)
        try clientHandle.addAddress(IPPrefix("\(clientAddress)/24")!, to: clientLink)
        try serverHandle.addAddress(IPPrefix("\(serverAddress)/24")!, to: serverLink)
        try clientHandle.setUp(clientLink)
        try serverHandle.setUp(serverLink)
    }

    func teardown() {
        for name in created where NetworkNamespace.exists(name) {
            try? NetworkNamespace.delete(name)
        }
    }
}

@Suite(.enabled(if: getuid() == 0, "needs root"), .requires(.mlab))
struct NamespaceNcTests {
    @Test func ncListensInOneNamespaceAndConnectsFromAnother() throws {
        var pair: NamespacePair?
        defer { pair?.teardown() }
        pair = try NamespacePair()
        let lab = try #require(pair)

        let listener = try Running(
            ["nc", "-v", "--netns", lab.server, "-l", lab.serverAddress, "9999"],
            stdin: "from-b\n")
        defer {
            if listener.process.isRunning { kill(listener.process.processIdentifier, SIGKILL) }
        }
        #expect(listener.waitForError(containing: "Listening on").contains("Listening on"))
        let (status, clientOut, clientErr) = try mlabRun(
            ["nc", "-w", "5", "--netns", lab.client, lab.serverAddress, "9999"], stdin: "from-a\n")
        let (serverStatus, serverOut, serverErr) = listener.finish()
        #expect(status == 0, "\(clientErr)")
        // The peer is the client namespace's address: both sockets lived in their namespaces.
        #expect(serverErr.contains("Connection received on \(lab.clientAddress) "))
        #expect(serverStatus == 0)
        #expect(clientOut == "from-b\n")
        #expect(serverOut == "from-a\n")

    }

    @Test func chatConnectsFromInsideANamespace() throws {
        var pair: NamespacePair?
        defer { pair?.teardown() }
        pair = try NamespacePair()
        let lab = try #require(pair)
        // A one-shot SMTP-ish listener inside the server namespace, made with mlab nc -l.
        let listener = try Running(
            ["nc", "-v", "--netns", lab.server, "-l", lab.serverAddress, "2525"],
            stdin: "220 ns ESMTP Fake\r\n221 2.0.0 Bye\r\n")
        defer {
            if listener.process.isRunning { kill(listener.process.processIdentifier, SIGKILL) }
        }
        _ = listener.waitForError(containing: "Listening on")
        let script = try ChatScriptParser.parse(
            "connect \(lab.serverAddress) 2525 netns \(lab.client)\nexpect 220 * ESMTP *\nsend QUIT\nexpect 221 2.0.0 Bye\n",
            name: "ns.chat")
        let outcome = ChatRunner.run(script, options: ChatOptions())
        _ = listener.finish()
        #expect(outcome.passed, "\(outcome.transcript)")
        #expect(
            outcome.transcript.first
                == "== connected to \(lab.serverAddress):2525 in namespace \(lab.client)")
    }
}
