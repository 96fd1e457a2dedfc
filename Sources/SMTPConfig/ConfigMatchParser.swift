/// 6.4+ `match [!]OPTION … action NAME|reject`.
extension ConfigParser {
    mutating func match() throws {
        let start = advance()
        var conditions: [MatchCondition] = []
        let expected =
            "a match option (from, for, tag, helo, auth, mail-from, rcpt-to, tls), action or reject"
        while true {
            let token = peek()
            if accept("reject") {
                return addRule(conditions, .reject, at: start)
            }
            if accept("action") {
                let nameToken = peek()
                let name = try parseString("an action name")
                guard actionLocations[name] != nil else {
                    throw fail("no such dispatcher: \(name)", at: nameToken)
                }
                return addRule(conditions, .action(name), at: start)
            }
            let negated = accept(symbol: "!")
            guard let condition = try matchOption(negated: negated) else {
                throw unexpected(peek(), expected: expected)
            }
            if conditions.contains(where: { $0.kind.group == condition.kind.group }) {
                throw fail("\(condition.kind.group) already specified for this rule", at: token)
            }
            conditions.append(condition)
        }
    }

    /// One option after its optional `!`; nil if the next word is not an option.
    private mutating func matchOption(negated: Bool) throws -> MatchCondition? {
        guard case .word(let word) = peek().kind else { return nil }
        func make(_ kind: ConditionKind, regex: Bool = false) -> MatchCondition {
            MatchCondition(negated: negated, regex: regex, kind)
        }
        switch word {
        case "from":
            advance()
            let token = peek()
            guard case .word(let what) = token.kind else {
                throw unexpected(
                    token, expected: "any, local, socket, src, rdns, auth or mail-from")
            }
            advance()
            switch what {
            case "any": return make(.fromAny)
            case "local": return make(.fromLocal)
            case "socket": return make(.fromSocket)
            case "src":
                let regex = accept("regex")
                return make(
                    .fromSource(try parseTableRef("an address, network or <table>")), regex: regex)
            case "rdns":
                let regex = accept("regex")
                let table = regex || atTable ? try parseTableRef() : nil
                return make(.fromRDNS(table), regex: regex)
            case "auth":
                let regex = accept("regex")
                let table = regex || atTable ? try parseTableRef() : nil
                return make(.fromAuth(table), regex: regex)
            case "mail-from":
                let regex = accept("regex")
                return make(.fromMailFrom(try parseTableRef()), regex: regex)
            default:
                consumed.removeLast()
                throw unexpected(
                    token, expected: "any, local, socket, src, rdns, auth or mail-from")
            }
        case "for":
            advance()
            let token = peek()
            guard case .word(let what) = token.kind else {
                throw unexpected(token, expected: "any, local, domain or rcpt-to")
            }
            advance()
            switch what {
            case "any": return make(.forAny)
            case "local": return make(.forLocal)
            case "domain":
                let regex = accept("regex")
                return make(.forDomain(try parseTableRef("a domain or <table>")), regex: regex)
            case "rcpt-to":
                let regex = accept("regex")
                return make(.forRcptTo(try parseTableRef()), regex: regex)
            default:
                consumed.removeLast()
                throw unexpected(token, expected: "any, local, domain or rcpt-to")
            }
        case "tag", "helo", "mail-from", "rcpt-to":
            advance()
            let regex = accept("regex")
            let table = try parseTableRef()
            switch word {
            case "tag": return make(.tag(table), regex: regex)
            case "helo": return make(.helo(table), regex: regex)
            case "mail-from": return make(.mailFrom(table), regex: regex)
            default: return make(.rcptTo(table), regex: regex)
            }
        case "auth":
            advance()
            let regex = accept("regex")
            let table = regex || atTable ? try parseTableRef() : nil
            return make(.auth(table), regex: regex)
        case "tls":
            advance()
            return make(.tls)
        default:
            return nil
        }
    }

    /// Appends a rule with `from local` / `for local` filled in when missing.
    mutating func addRule(_ conditions: [MatchCondition], _ decision: Decision, at start: Token) {
        let from = conditions.first { $0.kind.group == "from" } ?? MatchCondition(.fromLocal)
        let destination = conditions.first { $0.kind.group == "for" } ?? MatchCondition(.forLocal)
        let rest = conditions.filter { $0.kind.group != "from" && $0.kind.group != "for" }
        config.rules.append(
            MatchRule(
                conditions: [from, destination] + rest, decision: decision,
                location: location(start)))
    }
}
