import SMTPProtocol

/// A fault rule written back as the `fault at …` statement that makes it (docs/FAULTS.md),
/// for `smtpctl show faults`: what is printed can be loaded again.
enum FaultStatementText {
    static func statement(_ rule: FaultRule) -> String {
        var words = ["fault", "at", rule.stage.rawValue]
        switch rule.action {
        case .reply(let reply):
            words.append("reply")
            words += reply.lines.map { quoted("\(reply.code) \($0)") }
        case .delay(let nanoseconds):
            words += ["delay", "\(nanoseconds / 1_000_000)ms"]
        case .disconnect(let kind):
            words += ["disconnect", kind.rawValue]
        case .acceptAndDrop:
            words.append("accept-and-drop")
        case .partialReply(let reply, let bytes):
            words.append("partial-reply")
            words += reply.lines.map { quoted("\(reply.code) \($0)") }
            words += ["bytes", String(bytes)]
        case .throttledReply(let reply, let rate):
            words.append("reply")
            words += reply.lines.map { quoted("\(reply.code) \($0)") }
            words += ["throttle", String(rate)]
        }
        if rule.probability < 1 { words += ["probability", String(rule.probability)] }
        let condition = rule.condition
        var conditions: [String] = []
        if let sender = condition.sender { conditions += ["sender", quoted(sender)] }
        if let recipient = condition.recipient { conditions += ["rcpt", quoted(recipient)] }
        if let client = condition.client { conditions += ["client", quoted(client)] }
        if let session = condition.session { conditions += ["session", String(session)] }
        if let message = condition.message { conditions += ["message", String(message)] }
        if let number = condition.recipientNumber { conditions += ["recipient", String(number)] }
        if let bytes = condition.bodyBytes { conditions += ["bytes", String(bytes)] }
        if !conditions.isEmpty { words += ["for"] + conditions }
        return words.joined(separator: " ")
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }
}
