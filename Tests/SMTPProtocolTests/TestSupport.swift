import MailLabTestSupport
import SMTPProtocol
import Synchronization

/// Accepts users {root, osdrefuser} (lower-cased, `+tag` stripped) in the local domains
/// {localhost, vm, [127.0.0.1]} (case-insensitive); rejects everything else.
struct FakePolicy: RecipientPolicy {
    static let users: Set<String> = ["root", "osdrefuser"]
    static let domains: Set<String> = ["localhost", "vm", "[127.0.0.1]"]
    var temporaryFailureUsers: Set<String> = []

    func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict {
        var user = recipient.localPart.lowercased()
        if let plus = user.firstIndex(of: "+") { user = String(user[..<plus]) }
        if temporaryFailureUsers.contains(user) { return .temporaryFailure }
        guard Self.domains.contains(recipient.domain.lowercased()), Self.users.contains(user)
        else { return .reject }
        return .accept(RecipientRoute(action: "local", user: user, mailbox: "/tmp/maildir"))
    }
}

/// A deterministic random source (splitmix64) shared by the closures of one environment.
final class SplitMix: Sendable {
    private let state: Mutex<UInt64>
    init(seed: UInt64) { state = Mutex(seed) }
    func next() -> UInt64 {
        state.withLock { s in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// 1795924911 = Sun, 29 Nov 2026 04:01:51 UTC (§7.3).
let fixedNow: Int64 = 1_795_924_911

func fixedEnvironment(seed: UInt64 = 42, now: Int64 = fixedNow) -> SessionEnvironment {
    let random = SplitMix(seed: seed)
    return SessionEnvironment(now: { now }, random: { random.next() })
}

func referenceConfiguration(_ instance: Transcript.Instance = .reference) -> SessionConfiguration {
    var configuration = SessionConfiguration(serverName: "vm", listenerIsLocal: true)
    configuration.advertisePipelining = false
    configuration.smtputf8 = false
    configuration.chunking = false
    configuration.traceEnabled = true
    if instance == .limits {
        configuration.limits.maxMessageSize = 1000
        configuration.limits.maxRecipients = 2
        configuration.limits.maxMessagesPerSession = 2
    }
    return configuration
}

let localPeer = PeerInfo(address: "127.0.0.1", hostName: "localhost")

/// Drives a session like the server would: answers every `.deliver` at once.
struct Driver {
    var session: SMTPSession
    var outcome: DeliveryOutcome = .delivered
    /// Answers every `.authenticate` at once.
    var authenticate: @Sendable (AuthenticationRequest) -> SMTPSession.AuthenticationResult = {
        _ in .rejected
    }
    private(set) var events: [SessionEvent] = []

    init(
        configuration: SessionConfiguration = referenceConfiguration(), peer: PeerInfo = localPeer,
        environment: SessionEnvironment = fixedEnvironment()
    ) {
        session = SMTPSession(
            configuration: configuration, peer: peer, policy: FakePolicy(),
            environment: environment)
    }

    /// Events of this call only (deliveries answered).
    @discardableResult
    mutating func start() -> [SessionEvent] { settle(session.start()) }

    @discardableResult
    mutating func send(_ text: String) -> [SessionEvent] { send(Array(text.utf8)) }

    @discardableResult
    mutating func send(_ bytes: [UInt8]) -> [SessionEvent] { settle(session.receive(bytes)) }

    /// Sends `bytes` split into pieces of the given sizes, in turn (a size below 1 counts as 1).
    mutating func send(_ bytes: [UInt8], inChunks chunks: [Int]) {
        var offset = 0
        var turn = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + max(1, chunks[turn % chunks.count]))
            send(Array(bytes[offset..<end]))
            offset = end
            turn += 1
        }
    }

    @discardableResult
    mutating func disconnect() -> [SessionEvent] { settle(session.inputClosed()) }

    private mutating func settle(_ first: [SessionEvent]) -> [SessionEvent] {
        var produced = first
        var index = 0
        while index < produced.count {
            if case .deliver = produced[index] {
                produced += session.deliveryFinished(outcome)
            }
            if case .authenticate(let request) = produced[index] {
                produced += session.authenticationFinished(authenticate(request))
            }
            index += 1
        }
        events += produced
        return produced
    }
}

extension [SessionEvent] {
    /// Reply lines without CRLF.
    var replies: [String] {
        compactMap { event in
            guard case .reply(let bytes) = event else { return nil }
            return String(decoding: bytes.dropLast(2), as: UTF8.self)
        }
    }

    var rawReplies: [[UInt8]] {
        compactMap { if case .reply(let bytes) = $0 { return bytes } else { return nil } }
    }

    var messages: [Message] {
        compactMap { if case .deliver(let message) = $0 { return message } else { return nil } }
    }

    var logs: [String] {
        compactMap { if case .log(let line) = $0 { return line } else { return nil } }
    }

    var traces: [String] {
        compactMap { if case .trace(let line) = $0 { return line } else { return nil } }
    }

    var closes: Int { filter { $0 == .close }.count }
}

/// Message ids vary: "250 2.0.0 <8 hex> Message accepted…" compares as "250 2.0.0 MSGID …".
func normalized(_ reply: String) -> String {
    let prefix = "250 2.0.0 "
    let suffix = " Message accepted for delivery"
    guard reply.hasPrefix(prefix), reply.hasSuffix(suffix) else { return reply }
    let id = reply.dropFirst(prefix.count).dropLast(suffix.count)
    guard id.count == 8, id.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return reply }
    return prefix + "MSGID" + suffix
}

/// Feeds `bytes` in the given chunk sizes (cycled) and returns all events, deliveries answered.
func runChunked(_ transcript: Transcript, chunkSizes: [Int], seed: UInt64 = 42)
    -> [SessionEvent]
{
    var driver = Driver(
        configuration: referenceConfiguration(transcript.instance),
        environment: fixedEnvironment(seed: seed))
    driver.start()
    let bytes = transcript.clientBytes
    var offset = 0
    var turn = 0
    while offset < bytes.count {
        let size = max(1, chunkSizes[turn % chunkSizes.count])
        let end = min(bytes.count, offset + size)
        driver.send(Array(bytes[offset..<end]))
        offset = end
        turn += 1
    }
    if transcript.endsWithDisconnect { driver.disconnect() }
    return driver.events
}

func repeated(_ text: String, _ count: Int) -> String {
    String(repeating: text, count: count)
}

/// `Received: from hop0 by x\r\n` … for hop0..hop(N-1).
func receivedHeaders(_ count: Int) -> String {
    (0..<count).map { "Received: from hop\($0) by x\r\n" }.joined()
}

/// A 312-character domain of valid labels (the recording's "326 chars total" MAIL line).
let longDomain312 = [
    repeated("b", 63), repeated("b", 63), repeated("b", 63), repeated("b", 63), repeated("b", 56),
]
.joined(separator: ".")
