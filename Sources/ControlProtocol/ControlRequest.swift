/// What `schedule` and `remove` act on, as smtpctl writes it: `all`, a message id (exactly
/// 8 hex digits) or an envelope id (exactly 16), as OpenSMTPD's parser.c takes `<msgid>` and
/// `<evpid>`.
public enum ControlSelector: Sendable, Hashable, CustomStringConvertible {
    case all
    case message(UInt32)
    case envelope(UInt64)

    /// Parses `all`, `1a2b3c4d` or `1a2b3c4d00000001`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        if text == "all" {
            self = .all
            return
        }
        guard text.count == 8 || text.count == 16, text.allSatisfy(\.isHexDigit),
            let value = UInt64(text, radix: 16)
        else { return nil }
        self = text.count == 8 ? .message(UInt32(value)) : .envelope(value)
    }

    /// `all`, 8 or 16 lower-case hex digits.
    public var description: String {
        switch self {
        case .all: "all"
        case .message(let id): hex(UInt64(id), digits: 8)
        case .envelope(let id): hex(id, digits: 16)
        }
    }
}

/// One request over the control socket, smtpctl's verbs (OpenSMTPD's where they exist).
public enum ControlRequest: Sendable, Equatable {
    case showQueue
    case showStats
    case schedule(ControlSelector)
    case remove(ControlSelector)
    case pauseMTA
    case resumeMTA
    /// `log verbose` (true) or `log brief`.
    case log(verbose: Bool)
    /// `trace smtp` (true) or `untrace smtp`: the `-T smtp` dialogue trace for sessions that
    /// begin afterwards (the one trace subsystem MailLab has).
    case traceSMTP(Bool)
    /// MailLab: the fault rules new sessions get.
    case showFaults
    /// MailLab: replace the fault rules with the `fault …` statements of a file the client
    /// read; `name` is used in FILE:LINE errors.
    case loadFaults(name: String, text: String)
    /// MailLab: no fault rules for new sessions.
    case clearFaults

    /// The command as smtpctl's words (`schedule 1a2b3c4d`), the first line on the wire.
    public var words: String {
        switch self {
        case .showQueue: "show queue"
        case .showStats: "show stats"
        case .schedule(let selector): "schedule \(selector)"
        case .remove(let selector): "remove \(selector)"
        case .pauseMTA: "pause mta"
        case .resumeMTA: "resume mta"
        case .log(let verbose): verbose ? "log verbose" : "log brief"
        case .traceSMTP(let on): on ? "trace smtp" : "untrace smtp"
        case .showFaults: "show faults"
        // A newline in the name would end the command line early.
        case .loadFaults(let name, _): "load faults \(name.replacing("\n", with: "?"))"
        case .clearFaults: "clear faults"
        }
    }

    /// The frame's payload: the words on the first line, then (`load faults`) the file.
    public func encoded() -> [UInt8] {
        var text = words + "\n"
        if case .loadFaults(_, let body) = self { text += body }
        return Array(text.utf8)
    }

    /// Reads a payload `encoded()` made; the error says what was wrong with it.
    public init(decoding payload: [UInt8]) throws(ControlProtocolError) {
        guard let newline = payload.firstIndex(of: 0x0A) else {
            throw ControlProtocolError("request without a command line")
        }
        guard let line = String(validating: payload[..<newline], as: UTF8.self) else {
            throw ControlProtocolError("request is not UTF-8")
        }
        let body = String(decoding: payload[(newline + 1)...], as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        func selector() throws(ControlProtocolError) -> ControlSelector {
            guard words.count == 2, let selector = ControlSelector(words[1]) else {
                throw ControlProtocolError(
                    "\(words[0]): expected all, a message id (8 hex digits) or an envelope id (16)"
                )
            }
            return selector
        }
        switch words.map(String.init) {
        case ["show", "queue"]: self = .showQueue
        case ["show", "stats"]: self = .showStats
        case ["pause", "mta"]: self = .pauseMTA
        case ["resume", "mta"]: self = .resumeMTA
        case ["log", "verbose"]: self = .log(verbose: true)
        case ["log", "brief"]: self = .log(verbose: false)
        case ["trace", "smtp"]: self = .traceSMTP(true)
        case ["untrace", "smtp"]: self = .traceSMTP(false)
        case ["show", "faults"]: self = .showFaults
        case ["clear", "faults"]: self = .clearFaults
        default:
            if words.first == "schedule" {
                self = .schedule(try selector())
            } else if words.first == "remove" {
                self = .remove(try selector())
            } else if words.count >= 3, words[0] == "load", words[1] == "faults" {
                let name = String(line.dropFirst("load faults ".count))
                self = .loadFaults(name: name, text: body)
            } else {
                throw ControlProtocolError("unknown command: \(line)")
            }
        }
    }
}

func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
