import SMTPProtocol

/// MailLab's `fault` statements (OpenSMTPD has none; docs/FAULTS.md):
///
///     fault seed N
///     fault at STAGE ACTION [probability P] [for CONDITION VALUE …]
///
/// STAGE: `connect` (`banner`), `helo` (`ehlo`), `starttls`, `auth`, `mail`, `rcpt`, `data`,
/// `after-data`. ACTION: `reply "CODE [X.Y.Z] TEXT" …` (one string per line),
/// `reply "…" … throttle BYTES-PER-SECOND`, `partial-reply "…" … [bytes N]`,
/// `delay DURATION` (`500ms`, `5s`, `2m`), `disconnect [fin|rst]`, `accept-and-drop`.
/// CONDITION: `sender`, `rcpt`, `client` (addresses), `session`, `message`, `recipient`
/// (the n-th, from 1).
extension ConfigParser {
    mutating func fault() throws {
        let keyword = advance()
        if accept("seed") {
            let token = peek()
            let text = try parseString("a seed (0 to 18446744073709551615)")
            guard let seed = UInt64(text) else {
                throw fail("invalid fault seed: \(text) (expected a number 0 to 2^64-1)", at: token)
            }
            config.faultSeed = seed
            return
        }
        guard accept("at") else { throw unexpected(peek(), expected: "at or seed") }
        let stage = try faultStage()
        let action = try faultAction(stage)
        var condition = FaultCondition()
        var probability: Double?
        while !atEndOfStatement {
            let token = peek()
            if accept("probability") {
                guard probability == nil else {
                    throw fail("probability given twice", at: token)
                }
                let valueToken = peek()
                let text = try parseString("a probability between 0 and 1")
                guard let value = Double(text), value >= 0, value <= 1 else {
                    throw fail(
                        "invalid probability: \(text) (expected a number between 0 and 1)",
                        at: valueToken)
                }
                probability = value
                continue
            }
            _ = accept("for")
            try faultCondition(&condition)
        }
        do {
            config.faults.append(
                try FaultRule(
                    stage: stage, action: action, condition: condition,
                    probability: probability ?? 1))
        } catch {
            throw fail("invalid fault rule: \(error)", at: keyword)
        }
    }

    private mutating func faultStage() throws -> FaultStage {
        let token = peek()
        let expected =
            "connect, banner, helo, ehlo, starttls, auth, mail, rcpt, data, bdat, body or after-data"
        guard case .word(let word) = token.kind else { throw unexpected(token, expected: expected) }
        let stage: FaultStage
        switch word {
        case "connect", "banner": stage = .connect
        case "helo", "ehlo": stage = .helo
        case "mail", "mail-from": stage = .mail
        case "rcpt", "rcpt-to": stage = .rcpt
        default:
            guard let named = FaultStage(rawValue: word) else {
                throw fail("unknown fault stage \"\(word)\" (expected \(expected))", at: token)
            }
            stage = named
        }
        advance()
        return stage
    }

    private mutating func faultAction(_ stage: FaultStage) throws -> FaultAction {
        let token = peek()
        let partial = accept("partial-reply")
        if partial || accept("reply") {
            var lines: [String] = []
            let first = peek()
            while case .quoted(let line) = peek().kind {
                advance()
                lines.append(line)
            }
            guard !lines.isEmpty else {
                throw unexpected(first, expected: "a quoted reply such as \"451 4.7.1 Try later\"")
            }
            let reply: FaultReply
            do {
                reply = try FaultReply(parsing: lines)
            } catch {
                throw fail("\(error)", at: first)
            }
            if partial {
                var count = reply.wireBytes.count / 2
                if accept("bytes") { count = Int(try parseNumber("a number of bytes")) }
                return .partialReply(reply, bytes: count)
            }
            if accept("throttle") {
                let rate = try parseNumber("bytes per second")
                return .throttledReply(reply, bytesPerSecond: Int(clamping: rate))
            }
            return .reply(reply)
        }
        if accept("delay") {
            let valueToken = peek()
            let text = try parseString("a duration such as 5s")
            guard let nanoseconds = ConfigUnits.duration(text) else {
                throw fail(
                    "invalid fault delay: \(text) (expected a number followed by ms, s or m)",
                    at: valueToken)
            }
            return .delay(nanoseconds: nanoseconds)
        }
        if accept("disconnect") {
            if accept("rst") { return .disconnect(.rst) }
            _ = accept("fin")
            return .disconnect(.fin)
        }
        if accept("accept-and-drop") { return .acceptAndDrop }
        throw unexpected(
            token, expected: "reply, partial-reply, delay, disconnect or accept-and-drop")
    }

    private mutating func faultCondition(_ condition: inout FaultCondition) throws {
        let token = peek()
        let expected = "sender, rcpt, client, session, message, recipient, bytes or probability"
        guard case .word(let word) = token.kind else { throw unexpected(token, expected: expected) }
        switch word {
        case "sender", "rcpt", "client":
            advance()
            let address: String
            if accept(symbol: "<") {
                // `<alice@example.org>` as in SMTP; `<>` is the null sender.
                address = at(symbol: ">") ? "" : try parseString("an address")
                try expect(symbol: ">")
            } else {
                address = try parseString("an address")
            }
            let slot: WritableKeyPath<FaultCondition, String?> =
                word == "sender" ? \.sender : word == "rcpt" ? \.recipient : \.client
            guard condition[keyPath: slot] == nil else {
                throw fail("fault condition \(word) given twice", at: token)
            }
            condition[keyPath: slot] = address
        case "session", "message", "recipient", "bytes":
            advance()
            let valueToken = peek()
            let value = try parseNumber("a number from 1")
            guard value >= 1, value <= Int64(Int32.max) else {
                throw fail("invalid \(word) number: \(value) (counts start at 1)", at: valueToken)
            }
            let slot: WritableKeyPath<FaultCondition, Int?> =
                switch word {
                case "session": \.session
                case "message": \.message
                case "bytes": \.bodyBytes
                default: \.recipientNumber
                }
            guard condition[keyPath: slot] == nil else {
                throw fail("fault condition \(word) given twice", at: token)
            }
            condition[keyPath: slot] = Int(value)
        default:
            throw unexpected(token, expected: expected)
        }
    }
}
