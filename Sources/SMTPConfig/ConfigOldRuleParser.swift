/// The old grammar (≤ 6.0): `accept …`, `reject …` and `limit …`. An `accept` line becomes
/// an action named `accept-line-N` (N its line) and a rule using it; `reject` a rule.
extension ConfigParser {
    mutating func oldRule() throws {
        reserved = Keywords.old
        let start = advance()
        let isAccept = start.kind == .word("accept")
        var conditions: [MatchCondition] = []
        var method: DeliveryMethod?
        var lookups = ActionDirective(name: "", method: .mbox, location: location(start))
        var seen: Set<String> = []

        func once(_ what: String, _ token: Token, _ parser: inout ConfigParser) throws {
            guard seen.insert(what).inserted else {
                throw parser.fail("\(what) already specified for this rule", at: token)
            }
        }

        while !atEndOfStatement {
            let token = peek()
            let bang = at(symbol: "!")
            if bang { advance() }
            if bang, !at("authenticated") {
                throw unexpected(
                    peek(),
                    expected:
                        "authenticated (in the old grammar ! follows from, for, sender, recipient and tagged)"
                )
            }
            let conditionWords = ["from", "for", "sender", "recipient", "tagged", "authenticated"]
            guard case .word(let word) = peek().kind,
                conditionWords.contains(word) || Self.oldActionWords.contains(word)
            else {
                throw unexpected(
                    peek(),
                    expected: "from, for, sender, recipient, tagged, authenticated"
                        + (isAccept
                            ? ", alias, virtual, userbase, deliver to, relay, forward-only or expire"
                            : ""))
            }
            if Self.oldActionWords.contains(word) && !isAccept {
                throw unexpected(
                    peek(),
                    expected:
                        "from, for, sender, recipient, tagged or authenticated (reject takes no action)"
                )
            }
            advance()
            switch word {
            case "from":
                try once("from", token, &self)
                let negated = accept(symbol: "!")
                if accept("any") {
                    conditions.append(MatchCondition(negated: negated, .fromAny))
                } else if accept("local") {
                    conditions.append(MatchCondition(negated: negated, .fromLocal))
                } else if accept("source") || atTable {
                    conditions.append(
                        MatchCondition(negated: negated, .fromSource(try parseTableRef())))
                } else {
                    throw unexpected(peek(), expected: "any, local or source <table>")
                }
            case "for":
                try once("for", token, &self)
                let negated = accept(symbol: "!")
                if accept("any") {
                    conditions.append(MatchCondition(negated: negated, .forAny))
                } else if accept("local") {
                    conditions.append(MatchCondition(negated: negated, .forLocal))
                } else if accept("domain") {
                    conditions.append(
                        MatchCondition(
                            negated: negated, .forDomain(try parseTableRef("a domain or <table>"))))
                } else {
                    throw unexpected(peek(), expected: "any, local or domain")
                }
            case "sender", "recipient", "tagged":
                try once(word, token, &self)
                let negated = accept(symbol: "!")
                let kind: ConditionKind
                switch word {
                case "sender": kind = .mailFrom(try parseTableRef())
                case "recipient": kind = .rcptTo(try parseTableRef())
                default: kind = .tag(.inline(.list([try parseString("a tag")])))
                }
                conditions.append(MatchCondition(negated: negated, kind))
            case "authenticated":
                try once("authenticated", token, &self)
                conditions.append(MatchCondition(negated: bang, .auth(nil)))
            case "alias", "virtual":
                if lookups.alias != nil || lookups.virtual != nil {
                    throw fail("alias and virtual are mutually exclusive and given once", at: token)
                }
                let table = try parseTableRef()
                if word == "alias" { lookups.alias = table } else { lookups.virtual = table }
            case "userbase":
                try once("userbase", token, &self)
                lookups.userbase = try parseTableRef()
            case "expire":
                try once("expire", token, &self)
                lookups.ttl = try parseDelay("expire delay")
            default:  // deliver, relay, forward-only
                guard method == nil else {
                    throw fail("only one of deliver to, relay and forward-only per rule", at: token)
                }
                switch word {
                case "deliver":
                    try expect("to")
                    method = try oldDelivery(&lookups)
                case "relay":
                    var options = RelayOptions()
                    try relayOptions(&options, grammar: .old)
                    method = .relay(options)
                default:
                    method = .forwardOnly
                }
            }
        }

        guard isAccept else {
            return addRule(conditions, .reject, at: start)
        }
        guard let method else {
            throw fail(
                "accept needs a delivery: deliver to maildir|mbox|lmtp|mda, relay or forward-only",
                at: start)
        }
        var action = lookups
        action.method = method
        action.name = acceptActionName(line: start.line)
        declare(action, at: start)
        addRule(conditions, .action(action.name), at: start)
    }

    static let oldActionWords: Set<String> = [
        "alias", "virtual", "userbase", "deliver", "relay", "forward-only", "expire",
    ]

    /// After `deliver to`: `maildir ["PATH"]`, `mbox`, `lmtp "DEST" [rcpt-to]`, `mda "CMD"`,
    /// each but mbox optionally followed by `as USER`.
    private mutating func oldDelivery(_ action: inout ActionDirective) throws -> DeliveryMethod {
        let token = peek()
        let method: DeliveryMethod
        if accept("maildir") {
            method = try maildir()
        } else if accept("mbox") {
            return .mbox
        } else if accept("lmtp") {
            let destination = try parseFormat("\"host:port\" or a quoted socket path")
            method = .lmtp(destination: destination, rcptTo: accept("rcpt-to"))
        } else if accept("mda") {
            method = .mda(command: try parseFormat("a quoted command"))
        } else {
            throw unexpected(token, expected: "maildir, mbox, lmtp or mda")
        }
        if accept("as") { action.user = try parseString("a user name") }
        return method
    }

    /// `accept-line-N`, made unique if an included file has an accept on the same line.
    private mutating func acceptActionName(line: Int) -> String {
        var name = "accept-line-\(line)"
        var n = 1
        while actionLocations[name] != nil {
            n += 1
            name = "accept-line-\(line)-\(n)"
        }
        return name
    }

    /// `limit session max-rcpt N|max-mails N`, `limit mda|mta|scheduler …` (ignored).
    mutating func oldLimit() throws {
        reserved = Keywords.old
        advance()
        if accept("session") {
            try sessionLimits()
        } else if accept("mta") {
            if accept("for") {
                try expect("domain")
                _ = try parseString("a domain")
            }
            try limitPairs(familyAllowed: true)
        } else if accept("mda") || accept("scheduler") {
            try limitPairs()
        } else {
            throw unexpected(peek(), expected: "session, mda, mta or scheduler")
        }
    }
}
