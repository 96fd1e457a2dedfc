/// smtpd's answer to one request.
public enum ControlResponse: Sendable, Equatable {
    /// Done (smtpctl: `command succeeded`).
    case succeeded
    /// Refused or impossible, with the reason (smtpctl: `command failed: REASON`).
    case failed(String)
    /// How many envelopes `schedule` or `remove` selected.
    case count(Int)
    /// Lines to print as they are (`show queue`, `show stats`, `show faults`).
    case lines([String])

    /// The frame's payload: a status line (`ok`, `fail REASON`, `count N`, `lines`), then,
    /// for `lines`, one line each.
    public func encoded() -> [UInt8] {
        let text: String
        switch self {
        case .succeeded: text = "ok\n"
        case .failed(let reason): text = "fail \(reason.replacing("\n", with: " "))\n"
        case .count(let count): text = "count \(count)\n"
        case .lines(let lines): text = "lines\n" + lines.map { $0 + "\n" }.joined()
        }
        return Array(text.utf8)
    }

    /// Reads a payload `encoded()` made.
    public init(decoding payload: [UInt8]) throws(ControlProtocolError) {
        let text = String(decoding: payload, as: UTF8.self)
        guard let newline = text.firstIndex(of: "\n") else {
            throw ControlProtocolError("response without a status line")
        }
        let status = text[..<newline]
        let rest = text[text.index(after: newline)...]
        if status == "ok" {
            self = .succeeded
        } else if status.hasPrefix("fail ") {
            self = .failed(String(status.dropFirst(5)))
        } else if status.hasPrefix("count "), let count = Int(status.dropFirst(6)), count >= 0 {
            self = .count(count)
        } else if status == "lines" {
            var lines = rest.split(separator: "\n", omittingEmptySubsequences: false).map(
                String.init)
            if lines.last == "" { lines.removeLast() }
            self = .lines(lines)
        } else {
            throw ControlProtocolError("unknown response: \(status)")
        }
    }

    /// What smtpctl prints for this answer to `request`, and its exit status: OpenSMTPD's
    /// texts (`command succeeded`, `command failed: …`, `3 envelopes scheduled` — and, as
    /// 6.8's `%zu envelope%s` has it, `1 envelope` and `0 envelope`).
    public func output(for request: ControlRequest) -> (text: String, status: Int32) {
        switch self {
        case .succeeded: return ("command succeeded\n", 0)
        case .failed(let reason): return ("command failed: \(reason)\n", 1)
        case .count(let count):
            let verb: String
            switch request {
            case .remove: verb = "removed"
            default: verb = "scheduled"
            }
            return ("\(count) envelope\(count > 1 ? "s" : "") \(verb)\n", 0)
        case .lines(let lines): return (lines.map { $0 + "\n" }.joined(), 0)
        }
    }
}
