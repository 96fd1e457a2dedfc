import DNSClient
import DNSMessage
import Foundation
import Glibc
import LinuxSystem
import MailLabTestSupport
import NamespaceTestSupport
import Namespaces
import Testing

/// A DNS server written for the test on 10.53.0.9:53 in the lab's srv namespace: for each
/// query it sends the datagrams `answer` makes, in order (garbage, lies, then maybe the truth).
final class ScriptedServer: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var stopped = false
    private let thread: Thread

    init(lab: DNSLab, answer: @escaping @Sendable (DNSMessage) -> [[UInt8]]) throws {
        let fd = try NetworkNamespace.run(in: lab.name("srv")) { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            let bound = SocketAddress(ip: "10.53.0.9", port: 53)!.withSockaddr { bind(fd, $0, $1) }
            guard fd >= 0, bound == 0 else {
                throw SystemError("bind", "10.53.0.9:53", errno: errno)
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return fd
        }
        self.fd = fd
        let box = Box()
        thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !(box.server?.isStopped ?? true) {
                var peer = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
                    }
                }
                guard count > 0, let query = try? DNSMessage(decoding: Array(buffer[..<count]))
                else { continue }
                for datagram in answer(query) {
                    _ = withUnsafePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, datagram, datagram.count, 0, $0, length)
                        }
                    }
                }
            }
        }
        box.server = self
        thread.start()
    }

    private final class Box: @unchecked Sendable { weak var server: ScriptedServer? }

    var isStopped: Bool { lock.withLock { stopped } }

    func stop() {
        lock.withLock { stopped = true }
        usleep(250_000)  // the thread's receive timeout, then it sees the flag
        close(fd)
    }

    /// The truthful answer: one A record for the question.
    static func truth(_ query: DNSMessage, code: DNSResponseCode = .noError) -> DNSMessage {
        var reply = DNSMessage(header: query.header)
        reply.header.isResponse = true
        reply.header.responseCode = code
        reply.questions = query.questions
        if code == .noError, let question = query.questions.first {
            reply.answers = [DNSRecord(name: question.name, ttl: 5, data: .a([10, 53, 0, 99]))]
        }
        return reply
    }
}

@Suite(.enabled(if: isRoot, "needs root (namespaces)"), .requires(.dnsmasq), .serialized)
struct HostileDNSServerTests {
    func resolver(_ lab: DNSLab, timeout: Int = 2) -> DNSResolver {
        var configuration = ResolverConfiguration(nameservers: [.v4(host: "10.53.0.9", port: 53)])
        configuration.timeout = timeout
        configuration.attempts = 1
        return DNSResolver(configuration: configuration, namespace: lab.name("cli"))
    }

    @Test func garbageAndAnswersToOtherQueriesAreIgnored() throws {
        try withDNSLab { lab in
            let server = try ScriptedServer(lab: lab) { query in
                var otherID = ScriptedServer.truth(query)
                otherID.header.id &+= 1
                var otherQuestion = ScriptedServer.truth(query)
                otherQuestion.questions = [DNSQuestion(name: DNSName("evil.t.lab")!, type: .a)]
                var notAResponse = ScriptedServer.truth(query)
                notAResponse.header.isResponse = false
                // A pointer loop with our ID.
                let loop: [UInt8] =
                    [UInt8(query.header.id >> 8), UInt8(query.header.id & 0xFF), 0x81, 0x80]
                    + [0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1]
                return [
                    [1, 2, 3], loop, otherID.encode(), otherQuestion.encode(),
                    notAResponse.encode(), ScriptedServer.truth(query).encode(),
                ]
            }
            defer { server.stop() }
            let answer = try resolver(lab).query("host.t.lab", type: .a)
            #expect(answer.message.answers.map(\.data) == [.a([10, 53, 0, 99])])
        }
    }

    @Test func onlyLiesIsATimeoutNotAnAnswer() throws {
        try withDNSLab { lab in
            let server = try ScriptedServer(lab: lab) { query in
                var otherID = ScriptedServer.truth(query)
                otherID.header.id &+= 1
                return [otherID.encode(), [0xFF, 0xFF]]
            }
            defer { server.stop() }
            let error = try #require(
                lookupError { () throws(DNSLookupError) in
                    try resolver(lab, timeout: 1).query("host.t.lab", type: .a)
                })
            #expect(error.kind == .timeout)
        }
    }

    @Test func servfailIsATemporaryServerFailure() throws {
        try withDNSLab { lab in
            let server = try ScriptedServer(lab: lab) { query in
                [ScriptedServer.truth(query, code: .serverFailure).encode()]
            }
            defer { server.stop() }
            let error = try #require(
                lookupError { () throws(DNSLookupError) in
                    try resolver(lab).mailExchangers(for: "mail.t.lab")
                })
            #expect(error.kind == .serverFailure(.serverFailure))
            #expect(!error.isPermanent)
        }
    }

    @Test func aTruncatedAnswerCutMidRecordStillGoesToTCP() throws {
        try withDNSLab { lab in
            // TC set and the datagram cut inside the answer: the header alone says "ask over
            // TCP". Nothing listens on TCP 10.53.0.9:53, so the TCP try is refused.
            let server = try ScriptedServer(lab: lab) { query in
                var reply = ScriptedServer.truth(query)
                reply.header.isTruncated = true
                let bytes = reply.encode()
                return [Array(bytes[..<(bytes.count - 3)])]
            }
            defer { server.stop() }
            let error = try #require(
                lookupError { () throws(DNSLookupError) in
                    try resolver(lab).query("host.t.lab", type: .a)
                })
            #expect(error.kind == .unreachable("10.53.0.9:53: connection refused"))
        }
    }
}
