import FuzzSupport
import SMTPProtocol
import Synchronization

// libFuzzer target: the SMTP session state machine, bytes in, at any split.
//
// Input: byte 0 chooses the listener (bit 0 small limits, bit 1 STARTTLS offered, bit 2 AUTH
// offered without TLS, bit 3 deliveries fail); byte 1 is the number N (0...7) of chunk sizes
// that follow in bytes 2..<2+N (each 1...256, cycled); the rest is what the client sends.
// Checked: every reply is one well-formed line (at most 512 bytes, CRLF only at its end,
// printable ASCII); the session closes exactly once and says nothing after it; and, unless
// STARTTLS discarded input (it drops what was buffered after the command, so a split moves
// what it drops), the split input gives exactly the events of the whole input.

struct Policy: RecipientPolicy {
    func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict {
        switch recipient.localPart.lowercased() {
        case "root", "osdrefuser":
            return .accept(RecipientRoute(action: "local", user: "root", mailbox: "/tmp/m"))
        case "tempfail": return .temporaryFailure
        default: return .reject
        }
    }
}

final class Counter: Sendable {
    private let state = Mutex<UInt64>(0x5EED)
    func next() -> UInt64 {
        state.withLock {
            $0 &+= 0x9E37_79B9_7F4A_7C15
            var z = $0
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 27)
        }
    }
}

func configuration(_ flags: UInt8) -> SessionConfiguration {
    var configuration = SessionConfiguration(serverName: "vm", listenerIsLocal: true)
    configuration.traceEnabled = true
    if flags & 1 != 0 {
        configuration.limits.commandLineMax = 100
        configuration.limits.lineMax = 300
        configuration.limits.maxMessageSize = 200
        configuration.limits.maxErrors = 8
        configuration.limits.maxRecipients = 2
        configuration.limits.maxReceivedHeaders = 3
    }
    if flags & 2 != 0 { configuration.tlsOffer = .starttls }
    if flags & 4 != 0 {
        configuration.authOffer = .optional
        configuration.authWithoutTLS = true
    }
    return configuration
}

/// Runs the session on `chunks` in turn, answering every request at once, the way the
/// server would.
func run(_ chunks: [[UInt8]], flags: UInt8) -> (events: [SessionEvent], startedTLS: Bool) {
    let counter = Counter()
    var session = SMTPSession(
        configuration: configuration(flags), peer: PeerInfo(address: "127.0.0.1"),
        policy: Policy(),
        environment: SessionEnvironment(now: { 1_700_000_000 }, random: counter.next))
    var events: [SessionEvent] = []
    var startedTLS = false
    func settle(_ first: [SessionEvent]) {
        var produced = first
        var index = 0
        while index < produced.count {
            switch produced[index] {
            case .deliver:
                produced += session.deliveryFinished(
                    flags & 8 != 0
                        ? .failed(
                            DeliveryFailure(
                                code: 451, enhancedStatus: "4.3.0", text: "disk\r\nfull\u{0}"))
                        : .delivered)
            case .authenticate(let request):
                produced += session.authenticationFinished(
                    request.user == Array("good".utf8) ? .accepted : .rejected)
            case .startTLS:
                startedTLS = true
                produced += session.tlsEstablished(
                    protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256)
            case .delay:
                produced += session.delayElapsed()
            default:
                break
            }
            index += 1
        }
        events += produced
    }
    settle(session.start())
    for chunk in chunks { settle(session.receive(chunk)) }
    settle(session.inputClosed())
    return (events, startedTLS)
}

func check(_ events: [SessionEvent]) {
    for event in events {
        switch event {
        case .reply(let bytes):
            require(bytes.count <= 512, "reply longer than 512 bytes")
            require(bytes.suffix(2) == [13, 10], "reply without CRLF")
            require(
                !bytes.dropLast(2).contains(13) && !bytes.dropLast(2).contains(10),
                "CR or LF inside a reply")
            require(
                bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 13 || $0 == 10 },
                "reply byte outside printable ASCII")
        case .deliver(let message):
            require(!message.recipients.isEmpty, "a message without recipients")
            require(message.content.last == 10, "message content not ending in a newline")
        default:
            break
        }
    }
    // The input ends with the client going away: the session ends exactly once, last.
    let closes = events.filter { $0 == .close || $0 == .reset }.count
    require(closes == 1, "\(closes) closes")
    require(events.last == .close || events.last == .reset, "events after the close")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = pointer else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 2 else { return 0 }
    let flags = input[0]
    let sizeCount = min(Int(input[1] % 8), input.count - 2)
    let sizes = input[2..<(2 + sizeCount)].map { Int($0) + 1 }
    let stream = Array(input[(2 + sizeCount)...])

    let whole = run([stream], flags: flags)
    check(whole.events)
    if sizes.isEmpty { return 0 }
    var chunks: [[UInt8]] = []
    var offset = 0
    var turn = 0
    while offset < stream.count {
        let end = min(stream.count, offset + sizes[turn % sizes.count])
        chunks.append(Array(stream[offset..<end]))
        offset = end
        turn += 1
    }
    let split = run(chunks, flags: flags)
    check(split.events)
    if !whole.startedTLS && !split.startedTLS {
        require(whole.events == split.events, "the split input gave other events")
    }
    return 0
}

@_cdecl("FuzzSession_main")
public func fuzzSessionMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
)
    -> CInt
{
    runFuzzer(argc, argv, fuzzSession)
}
