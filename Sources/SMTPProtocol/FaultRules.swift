/// Fault injection (MailLab extension; OpenSMTPD has none): rules that make a session fail on
/// purpose at a chosen stage, so a client's retry and error handling can be tested.
///
/// The model is pure: a `FaultPlan` holds the rules and a seed, `SessionFaults` is one
/// session's share of it (the rules and a generator seeded by the plan's seed and the
/// session's number), and the session asks it at each stage. docs/FAULTS.md describes the
/// smtpd.conf form.

/// Where a rule fires. A command stage fires once the command has passed its checks (a
/// command refused anyway keeps its own reply), in place of what the command would do.
public enum FaultStage: String, Sendable, CaseIterable, Equatable {
    /// Before the banner (`connect`, also spelt `banner`).
    case connect
    /// HELO and EHLO.
    case helo
    case starttls
    case auth
    case mail
    case rcpt
    /// The DATA command (before its 354).
    case data
    /// A BDAT chunk, once all its bytes are read: in place of its `250` (or, for LAST, of
    /// the delivery). A reply there drops the message (RFC 3030 §2: the client must RSET).
    case bdat
    /// During the content (DATA's lines, BDAT's bytes): where the message reaches `bytes`
    /// bytes (as sent, before unstuffing; 1 without the condition). Only a 421 can be
    /// answered here (a client reads no reply before its final dot or the chunk's end), or
    /// a delay (the server stops reading), a disconnect or a partial reply.
    case body
    /// The final dot, before the message is stored.
    case afterData = "after-data"

    /// The stage of a command-table verb, nil for verbs that have none.
    init?(verb: String) {
        switch verb {
        case "HELO", "EHLO": self = .helo
        case "STARTTLS": self = .starttls
        case "AUTH": self = .auth
        case "MAIL FROM": self = .mail
        case "RCPT TO": self = .rcpt
        case "DATA": self = .data
        default: return nil
        }
    }

    /// Stages at which a transaction exists (a sender is known).
    var hasSender: Bool { self == .mail || hasRecipients }
    /// Stages at which recipients are known.
    var hasRecipients: Bool {
        self == .rcpt || self == .data || self == .bdat || self == .body || self == .afterData
    }
}

/// A reply that a rule sends in place of the real one: one code, one or more lines of text
/// (each may start with an enhanced status code). `451-…` continuation dashes are added
/// when it is written.
public struct FaultReply: Sendable, Equatable {
    public var code: Int
    /// Text after the code, one element per line.
    public var lines: [String]

    /// Parses `"451 4.7.1 Try later"` lines (`451-…` is taken too: the dashes are written
    /// anew); all must have the same code, 200…599, and an
    /// enhanced status code, where given, must be of the code's class (RFC 3463).
    public init(parsing replyLines: [String]) throws(FaultRuleError) {
        guard !replyLines.isEmpty else { throw FaultRuleError("a reply needs at least one line") }
        var code: Int?
        var lines: [String] = []
        for line in replyLines {
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-"),
                let value = Int(String(decoding: bytes[0...2], as: UTF8.self)),
                (200...599).contains(value)
            else {
                throw FaultRuleError(
                    "invalid fault reply \"\(line)\": expected a code 200-599, a space and text")
            }
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw FaultRuleError(
                    "invalid fault reply \"\(line)\": only printable ASCII may be sent")
            }
            if let code, code != value {
                throw FaultRuleError(
                    "invalid fault reply \"\(line)\": every line must have the code \(code)")
            }
            code = value
            let text = bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : ""
            if let enhanced = text.split(separator: " ").first, Self.looksEnhanced(enhanced),
                enhanced.first != Character(String(value / 100))
            {
                throw FaultRuleError(
                    "invalid fault reply \"\(line)\": enhanced status \(enhanced) is not of "
                        + "class \(value / 100)")
            }
            lines.append(text)
        }
        self.code = code!
        self.lines = lines
    }

    private static func looksEnhanced(_ word: Substring) -> Bool {
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3
            && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) }
            && parts.allSatisfy { $0.allSatisfy(\.isNumber) }
    }

    /// The reply as written, CRLFs included.
    public var wireBytes: [UInt8] { wireLines.flatMap { Array($0.utf8) + [0x0D, 0x0A] } }

    /// The reply as written, each line without its CRLF.
    public var wireLines: [String] {
        lines.enumerated().map { index, text in
            String(code) + (index == lines.count - 1 ? " " : "-") + text
        }
    }
}

/// How a rule ends the connection.
public enum FaultDisconnect: String, Sendable, Equatable {
    /// An orderly close (FIN), as after QUIT.
    case fin
    /// An abortive close (RST: `SO_LINGER` 0): the client's next read fails with ECONNRESET.
    case rst
}

/// What a rule does.
public enum FaultAction: Sendable, Equatable {
    /// Send this reply instead of doing the command (a 421 also closes, RFC 5321 §3.8; at
    /// `connect` any reply closes after it is sent).
    case reply(FaultReply)
    /// Wait this long, then go on (with the stage's other rules, or as normal).
    case delay(nanoseconds: UInt64)
    /// Close without a reply.
    case disconnect(FaultDisconnect)
    /// `after-data` only: answer 250 and store nothing (logged as a warning).
    case acceptAndDrop
    /// The first `bytes` bytes of this reply (as written, CRLFs counted), then a close (FIN):
    /// a server that died in the middle of its answer.
    case partialReply(FaultReply, bytes: Int)
    /// This reply at `bytesPerSecond`, a piece every 100 ms (one byte at a time below 10
    /// bytes per second); input waits until it is out. A 421 (or any reply at `connect`)
    /// closes afterwards, as with `reply`.
    case throttledReply(FaultReply, bytesPerSecond: Int)
}

/// Narrows a rule to some sessions, messages or recipients. Addresses compare without
/// regard to case.
public struct FaultCondition: Sendable, Equatable {
    /// The MAIL FROM address (`""` for the null sender).
    public var sender: String?
    /// At `rcpt`, the RCPT TO address; at `data` and `after-data`, any accepted recipient.
    public var recipient: String?
    /// The client's numeric address, as in the `smtp connected address=` log line.
    public var client: String?
    /// The n-th session since the server started (1-based).
    public var session: Int?
    /// The n-th transaction (MAIL FROM) of the session (1-based).
    public var message: Int?
    /// The n-th RCPT TO of the transaction (1-based); `rcpt` only.
    public var recipientNumber: Int?
    /// `body` only: the rule fires on the line that brings the message to this many bytes.
    public var bodyBytes: Int?

    public init(
        sender: String? = nil, recipient: String? = nil, client: String? = nil,
        session: Int? = nil, message: Int? = nil, recipientNumber: Int? = nil,
        bodyBytes: Int? = nil
    ) {
        self.bodyBytes = bodyBytes
        self.sender = sender
        self.recipient = recipient
        self.client = client
        self.session = session
        self.message = message
        self.recipientNumber = recipientNumber
    }
}

/// One rule: at `stage`, if `condition` holds and the draw is below `probability`, `action`.
public struct FaultRule: Sendable, Equatable {
    public let stage: FaultStage
    public let action: FaultAction
    public let condition: FaultCondition
    /// 0…1; 1 fires every time (and draws nothing).
    public let probability: Double

    /// Refuses rules that could never fire as written: `accept-and-drop` before the final
    /// dot, a sender before MAIL, recipients before RCPT, a recipient number outside RCPT,
    /// counts below 1 and probabilities outside 0…1.
    public init(
        stage: FaultStage, action: FaultAction, condition: FaultCondition = FaultCondition(),
        probability: Double = 1
    ) throws(FaultRuleError) {
        if action == .acceptAndDrop && stage != .afterData {
            throw FaultRuleError("accept-and-drop is only possible at after-data")
        }
        if case .partialReply(let reply, let bytes) = action,
            !(1..<reply.wireBytes.count).contains(bytes)
        {
            throw FaultRuleError(
                "a partial reply sends 1 to \(reply.wireBytes.count - 1) bytes of this reply, not \(bytes)"
            )
        }
        if case .throttledReply(_, let rate) = action, !(1...1_000_000).contains(rate) {
            throw FaultRuleError("throttle must be 1 to 1000000 bytes per second, not \(rate)")
        }
        if condition.sender != nil && !stage.hasSender {
            throw FaultRuleError("no sender is known at \(stage.rawValue)")
        }
        if condition.recipient != nil && !stage.hasRecipients {
            throw FaultRuleError("no recipient is known at \(stage.rawValue)")
        }
        if condition.message != nil && !stage.hasSender {
            throw FaultRuleError("no message has begun at \(stage.rawValue)")
        }
        if condition.recipientNumber != nil && stage != .rcpt {
            throw FaultRuleError("a recipient number is only possible at rcpt")
        }
        if condition.bodyBytes != nil && stage != .body {
            throw FaultRuleError("a byte count is only possible at body")
        }
        if stage == .body {
            switch action {
            case .reply(let reply), .throttledReply(let reply, _):
                guard reply.code == 421 else {
                    throw FaultRuleError(
                        "at body only a 421 reply is possible (the client reads no reply before its final dot)"
                    )
                }
            default: break
            }
        }
        for count in [
            condition.session, condition.message, condition.recipientNumber, condition.bodyBytes,
        ] {
            if let count, count < 1 { throw FaultRuleError("counts start at 1, not \(count)") }
        }
        guard probability >= 0 && probability <= 1 else {
            throw FaultRuleError("probability must be between 0 and 1, not \(probability)")
        }
        self.stage = stage
        self.action = action
        self.condition = condition
        self.probability = probability
    }
}

/// A rule that cannot fire as written.
public struct FaultRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The rules of a server and the seed of their draws.
public struct FaultPlan: Sendable, Equatable {
    public var rules: [FaultRule]
    /// Fixes every draw: the same seed and the same sessions give the same faults.
    public var seed: UInt64

    public init(rules: [FaultRule] = [], seed: UInt64 = 0) {
        self.rules = rules
        self.seed = seed
    }

    /// The share of session `number` (1-based, in accept order). Its generator depends only
    /// on the seed and the number, not on what other sessions drew.
    public func session(number: Int) -> SessionFaults {
        SessionFaults(
            rules: rules, sessionNumber: number,
            random: SplitMix64(seed: seed ^ (UInt64(number) &* 0xD1B5_4A32_D192_ED03)))
    }
}

/// What a stage's rules decided: an optional wait, then an optional action in place of the
/// normal one.
struct FaultDecision: Equatable {
    var delay: UInt64?
    var action: FaultAction?
    /// Log lines naming the rules that fired.
    var notes: [String]

    var isEmpty: Bool { delay == nil && action == nil }
}

/// What the session knows when it asks.
struct FaultContext {
    var client: String
    var sender: String?
    var recipients: [String]
    var message: Int?
    var recipientNumber: Int?
    /// At `body`: the byte counts the current line covers.
    var bodyBytes: ClosedRange<Int>? = nil
}

/// One session's rules and generator.
public struct SessionFaults: Sendable {
    let rules: [FaultRule]
    public let sessionNumber: Int
    var random: SplitMix64

    /// Every rule of `stage` whose condition holds is drawn for in file order; the first
    /// delay that fires is the wait, the first other action that fires replaces the normal
    /// one (later rules of the stage are still drawn for, so a rule's draws do not depend
    /// on whether an earlier rule fired).
    mutating func decide(_ stage: FaultStage, _ context: FaultContext) -> FaultDecision {
        var decision = FaultDecision(delay: nil, action: nil, notes: [])
        for (index, rule) in rules.enumerated() where rule.stage == stage {
            guard matches(rule.condition, context) else { continue }
            if rule.probability < 1 {
                guard random.nextUnit() < rule.probability else { continue }
            }
            switch rule.action {
            case .delay(let nanoseconds):
                if decision.delay == nil {
                    decision.delay = nanoseconds
                    decision.notes.append("rule=\(index + 1) delay=\(nanoseconds / 1_000_000)ms")
                }
            case let action:
                if decision.action == nil {
                    decision.action = action
                    decision.notes.append("rule=\(index + 1) \(Self.describe(action))")
                }
            }
        }
        return decision
    }

    /// Whether any rule is at `stage` (asked for every line of a body).
    func hasRules(at stage: FaultStage) -> Bool { rules.contains { $0.stage == stage } }

    private func matches(_ condition: FaultCondition, _ context: FaultContext) -> Bool {
        if let range = context.bodyBytes, !range.contains(condition.bodyBytes ?? 1) {
            return false
        }
        if let session = condition.session, session != sessionNumber { return false }
        if let client = condition.client, client.lowercased() != context.client.lowercased() {
            return false
        }
        if let sender = condition.sender, sender.lowercased() != context.sender?.lowercased() {
            return false
        }
        if let recipient = condition.recipient?.lowercased(),
            !context.recipients.contains(where: { $0.lowercased() == recipient })
        {
            return false
        }
        if let message = condition.message, message != context.message { return false }
        if let number = condition.recipientNumber, number != context.recipientNumber {
            return false
        }
        return true
    }

    static func describe(_ action: FaultAction) -> String {
        switch action {
        case .reply(let reply): "action=reply code=\(reply.code)"
        case .delay(let nanoseconds): "action=delay ms=\(nanoseconds / 1_000_000)"
        case .disconnect(let how): "action=disconnect-\(how.rawValue)"
        case .acceptAndDrop: "action=accept-and-drop"
        case .partialReply(let reply, let bytes):
            "action=partial-reply code=\(reply.code) bytes=\(bytes)"
        case .throttledReply(let reply, let rate):
            "action=reply code=\(reply.code) throttle=\(rate)B/s"
        }
    }
}
