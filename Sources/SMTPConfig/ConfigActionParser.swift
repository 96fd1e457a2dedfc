/// 6.4+ `action NAME METHOD [OPTIONS]`.
extension ConfigParser {
    mutating func action() throws {
        let start = advance()
        let nameToken = peek()
        let name = try parseString("an action name")
        if let first = actionLocations[name] {
            throw fail(
                "dispatcher already declared with that name: \(name) (first declared at \(first))",
                at: nameToken)
        }
        let method = try deliveryMethod()
        var action = ActionDirective(name: name, method: method, location: location(start))
        if case .relay(var options) = method {
            try relayOptions(&options, grammar: .new)
            action.method = .relay(options)
        }
        try localOptions(&action)
        declare(action, at: nameToken)
    }

    mutating func declare(_ action: ActionDirective, at token: Token) {
        actionLocations[action.name] = location(token)
        config.actions.append(action)
    }

    private mutating func deliveryMethod() throws -> DeliveryMethod {
        let token = peek()
        let expected = "a method (maildir, mbox, lmtp, mda, expand-only, forward-only, relay)"
        guard case .word(let method) = token.kind else {
            throw unexpected(token, expected: expected)
        }
        switch method {
        case "maildir":
            advance()
            return try maildir()
        case "mbox":
            advance()
            return .mbox
        case "lmtp":
            advance()
            let destination = try parseFormat("\"host:port\" or a quoted socket path")
            return .lmtp(destination: destination, rcptTo: accept("rcpt-to"))
        case "mda":
            advance()
            return .mda(command: try parseFormat("a quoted command"))
        case "expand-only":
            advance()
            return .expandOnly
        case "forward-only":
            advance()
            return .forwardOnly
        case "relay":
            advance()
            return .relay(RelayOptions())
        default:
            throw unexpected(token, expected: expected)
        }
    }

    /// `maildir ["PATH"] [junk]` (also after the old `deliver to`).
    mutating func maildir() throws -> DeliveryMethod {
        var path: String?
        if case .word("junk") = peek().kind {
        } else if atString {
            let token = peek()
            let p = try parseFormat("a quoted path")
            guard !p.isEmpty else { throw fail("empty maildir path", at: token) }
            path = p
        }
        return .maildir(path: path, junk: accept("junk"))
    }

    /// Options of local actions and `ttl`, in any order.
    private mutating func localOptions(_ action: inout ActionDirective) throws {
        let local: Bool
        if case .relay = action.method { local = false } else { local = true }
        while !atEndOfStatement {
            let token = peek()
            guard case .word(let option) = token.kind,
                option == "ttl"
                    || (local
                        && ["alias", "virtual", "userbase", "user", "wrapper"].contains(option))
            else {
                throw unexpected(
                    token,
                    expected: local
                        ? "an action option (alias, virtual, userbase, user, wrapper, ttl)"
                        : "a relay option")
            }
            advance()
            switch option {
            case "ttl":
                guard action.ttl == nil else {
                    throw fail("ttl already specified for this dispatcher", at: token)
                }
                action.ttl = try parseDelay("ttl delay")
            case "alias", "virtual":
                if action.alias != nil || action.virtual != nil {
                    throw fail("alias and virtual are mutually exclusive and given once", at: token)
                }
                let table = try parseTableRef()
                if option == "alias" { action.alias = table } else { action.virtual = table }
            case "userbase":
                guard action.userbase == nil else {
                    throw fail("userbase mapping already specified for this dispatcher", at: token)
                }
                action.userbase = try parseTableRef()
            case "user":
                switch action.method {
                case .mbox: throw fail("user may not be specified for this dispatcher", at: token)
                case .forwardOnly:
                    throw fail("user may not be specified for forward-only", at: token)
                case .expandOnly: throw fail("user may not be specified for expand-only", at: token)
                default: break
                }
                guard action.user == nil else {
                    throw fail("user already specified for this dispatcher", at: token)
                }
                action.user = try parseString("a user name")
            default:  // wrapper
                let nameToken = peek()
                let name = try parseString("a wrapper name")
                guard config.mdaWrappers[name] != nil else {
                    throw fail("no mda wrapper with that name: \(name)", at: nameToken)
                }
                action.wrapper = name
            }
        }
    }

    /// A string that may hold `%{…}` format specifiers, checked now.
    mutating func parseFormat(_ what: String) throws -> String {
        let token = peek()
        let text = try parseString(what)
        do {
            _ = try FormatTemplate(text)
        } catch {
            throw fail("invalid format: \(error)", at: token)
        }
        return text
    }

    enum Grammar { case new, old }

    /// Options after `relay`. New: helo, helo-src, pki, ca, ciphers, protocols, src,
    /// mail-from, backup [mx N], host, domain, tls [no-verify], auth, filter, srs. Old:
    /// backup [MX], via URL, tls [verify], verify, as ADDR, source, hostname, hostnames, pki,
    /// ca, auth. Stops at the first word it does not know (the caller checks it).
    mutating func relayOptions(_ options: inout RelayOptions, grammar: Grammar) throws {
        var seen: Set<String> = []
        while case .word(let option) = peek().kind {
            let token = peek()
            let key: String
            switch (grammar, option) {
            case (.new, "helo"), (.old, "hostname"): key = "helo"
            case (.new, "helo-src"), (.old, "hostnames"): key = "helo-src"
            case (.new, "src"), (.old, "source"): key = "src"
            case (.new, "mail-from"), (.old, "as"): key = "mail-from"
            case (.new, "host"), (.old, "via"): key = "host"
            case (_, "pki"), (_, "ca"), (_, "backup"), (_, "tls"), (_, "auth"): key = option
            case (.new, "ciphers"), (.new, "protocols"), (.new, "domain"), (.new, "filter"),
                (.new, "srs"), (.old, "verify"):
                key = option
            default:
                return
            }
            advance()
            guard seen.insert(key).inserted else {
                throw fail("\(option) already specified for this dispatcher", at: token)
            }
            switch key {
            case "helo": options.helo = try parseString("a host name")
            case "helo-src": options.heloSource = try parseTableRef()
            case "src": options.source = try parseTableRef()
            case "mail-from": options.mailFrom = try parseString("an address")
            case "pki": options.pki = try parseString("a pki name")
            case "ca": options.ca = try parseString("a ca name")
            case "ciphers": options.ciphers = try parseString("a cipher list")
            case "protocols": options.protocols = try parseString("a protocol list")
            case "host", "domain":
                if options.backup {
                    throw fail("backup and \(option) are mutually exclusive", at: token)
                }
                if options.host != nil || options.domain != nil {
                    throw fail("host mapping already specified for this dispatcher", at: token)
                }
                let urlToken = peek()
                let table = try parseTableRef("a relay URL such as smtp://host:25")
                if key == "host" {
                    options.host = table
                    if case .inline(.list(let values)) = table, values.count == 1 {
                        do {
                            options.url = try RelayURL(parsing: values[0])
                        } catch {
                            throw fail("invalid relay URL \"\(values[0])\": \(error)", at: urlToken)
                        }
                    }
                } else {
                    options.domain = table
                }
            case "backup":
                if options.host != nil || options.domain != nil {
                    throw fail("backup and host are mutually exclusive", at: token)
                }
                options.backup = true
                if grammar == .new {
                    if accept("mx") { options.backupMX = try parseString("an MX name") }
                } else if atString {
                    options.backupMX = try parseString("an MX name")
                }
            case "tls":
                options.tls = true
                if grammar == .new {
                    options.tlsVerify = !accept("no-verify")
                } else if accept("verify") {
                    options.tlsVerify = true
                }
            case "verify": options.tlsVerify = true
            case "auth":
                if grammar == .new && options.host == nil {
                    throw fail("auth may not be specified without host on a dispatcher", at: token)
                }
                options.auth = try parseTableRef()
            case "filter": options.filter = try parseString("a filter name")
            default:  // srs
                guard config.srsKey != nil else {
                    throw fail(
                        "an srs key is required for srs to be specified in an action", at: token)
                }
                options.srs = true
            }
        }
    }
}
