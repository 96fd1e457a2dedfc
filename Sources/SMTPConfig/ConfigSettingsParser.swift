/// pki/ca declarations and global settings of both grammars (`smtp …`, `queue …`,
/// `bounce …`, `mta …`, `mda …`, `srs …`, filters).
extension ConfigParser {
    /// `pki NAME cert|certificate "F" | key "F" | dhe none|auto|legacy …`.
    mutating func pki() throws {
        advance()
        let name = try parseString("a pki name").lowercased()
        let start = consumed[0]
        var declaration = config.pkis[name] ?? PKIDeclaration(location: location(start))
        var any = false
        while !atEndOfStatement {
            if accept("cert") || accept("certificate") {
                declaration.certificate = try parseString("a quoted certificate file")
            } else if accept("key") {
                declaration.key = try parseString("a quoted key file")
            } else if accept("dhe") {
                let token = peek()
                let value = try parseString("none, auto or legacy")
                guard ["none", "auto", "legacy"].contains(value.lowercased()) else {
                    throw fail("invalid DHE keyword: \(value)", at: token)
                }
                declaration.dhe = value.lowercased()
            } else {
                throw unexpected(peek(), expected: "cert, key or dhe")
            }
            any = true
        }
        if !any { throw unexpected(peek(), expected: "cert, key or dhe") }
        config.pkis[name] = declaration
    }

    /// `ca NAME cert|certificate "F"`.
    mutating func ca() throws {
        advance()
        let name = try parseString("a ca name").lowercased()
        guard accept("cert") || accept("certificate") else {
            throw unexpected(peek(), expected: "cert")
        }
        config.cas[name] = try parseString("a quoted certificate file")
    }

    // MARK: global settings

    /// `smtp limit max-rcpt N max-mails N`, `smtp max-message-size SIZE`,
    /// `smtp sub-addr-delim C`, `smtp ciphers STR`; MailLab's `smtp timeout command|data|session
    /// DURATION` and `smtp limit max-sessions N`, `smtp limit max-sessions-per-address N`.
    mutating func smtp() throws {
        advance()
        if accept("limit") {
            try sessionLimits(connectionLimits: true)
        } else if accept("timeout") {
            try timeout()
        } else if accept("max-message-size") {
            config.maxMessageSize = try parseSize()
        } else if accept("sub-addr-delim") {
            try subaddressDelimiter()
        } else if accept("ciphers") {
            config.ciphers = try parseString("a cipher list")
        } else {
            throw unexpected(
                peek(), expected: "limit, timeout, max-message-size, sub-addr-delim or ciphers")
        }
    }

    /// `timeout command|data|session DURATION` (after `smtp`).
    mutating func timeout() throws {
        let token = peek()
        guard case .word(let kind) = token.kind, ["command", "data", "session"].contains(kind)
        else { throw unexpected(token, expected: "command, data or session") }
        advance()
        let seconds = try parseDelay("\(kind) timeout")
        switch kind {
        case "command": config.timeouts.command = seconds
        case "data": config.timeouts.data = seconds
        default: config.timeouts.session = seconds
        }
    }

    /// `max-rcpt N` / `max-mails N` pairs (new `smtp limit`, old `limit session`); with
    /// `connectionLimits` (only `smtp limit`) also `max-sessions N`, `max-sessions-per-address N`.
    mutating func sessionLimits(connectionLimits: Bool = false) throws {
        var keys = ["max-rcpt", "max-mails"]
        if connectionLimits { keys += ["max-sessions", "max-sessions-per-address"] }
        let expected =
            connectionLimits
            ? "max-rcpt, max-mails, max-sessions or max-sessions-per-address"
            : "max-rcpt or max-mails"
        var any = false
        while !atEndOfStatement {
            let keyToken = peek()
            guard case .word(let key) = keyToken.kind, keys.contains(key) else {
                if case .word(let key) = keyToken.kind {
                    throw fail(
                        "invalid session limit keyword: \(key) (expected \(expected))",
                        at: keyToken)
                }
                throw unexpected(keyToken, expected: expected)
            }
            advance()
            let valueToken = peek()
            let value = try parseNumber("a number")
            guard value >= 1, value <= Int64(Int32.max) else {
                throw fail("invalid \(key): \(value) (must be at least 1)", at: valueToken)
            }
            switch key {
            case "max-rcpt": config.maxRecipients = Int(value)
            case "max-mails": config.maxMailsPerSession = Int(value)
            case "max-sessions": config.maxSessions = Int(value)
            default: config.maxSessionsPerAddress = Int(value)
            }
            any = true
        }
        if !any { throw unexpected(peek(), expected: "max-rcpt or max-mails") }
    }

    mutating func subaddressDelimiter() throws {
        let token = peek()
        let value = try parseString("one character")
        guard value.utf8.count == 1, let c = value.utf8.first else {
            throw fail("subaddressing-delimiter must be one character", at: token)
        }
        guard c > 0x20, c < 0x7F, c != UInt8(ascii: "@") else {
            throw fail("sub-addr-delim uses invalid character", at: token)
        }
        config.subaddressDelimiter = value
    }

    /// `queue compression | encryption [KEY] | encryption key KEY (old) | ttl DELAY`.
    mutating func queue() throws {
        advance()
        if accept("compression") {
            config.queue.compression = true
            if atString { _ = try parseString("an algorithm") }  // old: `compression gzip`
        } else if accept("encryption") {
            config.queue.encryption = true
            _ = accept("key")
            if atString { config.queue.encryptionKey = try parseString("a key") }
        } else if accept("ttl") {
            config.queue.ttl = try parseDelay("ttl delay")
        } else if accept("directory") {
            // MailLab: the spool directory of the relay queue.
            let token = peek()
            let path = try parseString("a quoted directory path")
            guard !path.isEmpty, !path.contains("\0") else {
                throw fail("invalid queue directory: \(path)", at: token)
            }
            config.queue.directory = path
        } else if accept("retry") {
            // MailLab: first retry delay, doubled per attempt up to the second one.
            let token = peek()
            let first = try parseDelay("retry delay")
            var most = max(first, config.queue.retryMax)
            if !atEndOfStatement { most = try parseDelay("maximum retry delay") }
            guard first > 0, most >= first else {
                throw fail("queue retry: the maximum must be at least the first delay", at: token)
            }
            config.queue.retryMin = first
            config.queue.retryMax = most
        } else {
            throw unexpected(
                peek(), expected: "compression, encryption, ttl, directory or retry")
        }
    }

    /// `bounce warn-interval D[, D…]`.
    mutating func bounce() throws {
        advance()
        try expect("warn-interval")
        config.queue.bounceWarnIntervals = try delayList()
    }

    mutating func delayList() throws -> [Int] {
        var delays = [try parseDelay("bounce delay")]
        while accept(symbol: ",") { delays.append(try parseDelay("bounce delay")) }
        return delays
    }

    /// `mta max-deferred N`, `mta limit [for domain D] …`.
    mutating func mta() throws {
        advance()
        if accept("max-deferred") {
            config.mtaMaxDeferred = Int(try parseNumber("a number"))
        } else if accept("limit") {
            if accept("for") {
                try expect("domain")
                _ = try parseString("a domain")
            }
            try limitPairs(familyAllowed: true)
        } else {
            throw unexpected(peek(), expected: "max-deferred or limit")
        }
    }

    /// `mda limit …`, `mda wrapper NAME "CMD"`.
    mutating func mda() throws {
        advance()
        if accept("limit") {
            try limitPairs()
        } else if accept("wrapper") {
            let nameToken = peek()
            let name = try parseString("a wrapper name")
            let command = try parseFormat("a quoted command")
            guard config.mdaWrappers[name] == nil else {
                throw fail("mda wrapper already declared with that name: \(name)", at: nameToken)
            }
            config.mdaWrappers[name] = command
        } else {
            throw unexpected(peek(), expected: "limit or wrapper")
        }
    }

    /// `KEY NUMBER …` pairs of the limits the server ignores (and `inet4`/`inet6` for mta).
    mutating func limitPairs(familyAllowed: Bool = false) throws {
        var any = false
        while !atEndOfStatement {
            any = true
            if familyAllowed && (accept("inet4") || accept("inet6")) { continue }
            _ = try parseString("a limit keyword")
            _ = try parseNumber("a number")
        }
        if !any { throw unexpected(peek(), expected: "a limit keyword") }
    }

    /// `srs key [backup] K`, `srs ttl D`.
    mutating func srs() throws {
        advance()
        if accept("key") {
            let backup = accept("backup")
            let key = try parseString("a key")
            if !backup { config.srsKey = key }
        } else if accept("ttl") {
            _ = try parseDelay("srs ttl delay")
        } else {
            throw unexpected(peek(), expected: "key or ttl")
        }
    }

    /// `filter NAME …` / `proc NAME …`: only the filter's name is kept (MailLab runs no
    /// filters). XXX: the rest of the line is not checked.
    mutating func skipFilterStatement() throws {
        let keyword = advance()
        let name = try parseString("a name")
        if case .word("filter") = keyword.kind { config.filters.insert(name) }
        while !atEndOfStatement {
            if at(symbol: "{") {
                _ = try inlineTable()
            } else {
                advance()
            }
        }
    }
}
