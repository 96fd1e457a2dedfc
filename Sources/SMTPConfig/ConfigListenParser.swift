import Glibc

/// `listen on …` (one syntax for both grammars: `mask-source` and `mask-src` both work).
extension ConfigParser {
    mutating func listen() throws {
        let start = advance()
        try expect("on")
        if accept("socket") {
            return try socketListener(at: start)
        }
        let word = try parseString("an interface, address or host name")
        var listener = ListenDirective(target: Self.target(word), location: location(start))
        var portGiven = false
        var seen: Set<String> = []

        func once(_ option: String, _ token: Token, _ parser: inout ConfigParser) throws {
            guard seen.insert(option).inserted else {
                throw parser.fail("\(option) already specified", at: token)
            }
        }

        while !atEndOfStatement {
            let token = peek()
            guard case .word(let option) = token.kind else {
                throw unexpected(token, expected: "a listen option")
            }
            advance()
            switch option {
            case "inet4", "inet6":
                try once("address family", token, &self)
                listener.family = option == "inet4" ? .inet4 : .inet6
            case "port":
                try once("port", token, &self)
                listener.port = try port()
                portGiven = true
            case "smtps", "tls", "tls-require":
                try once("TLS mode", token, &self)
                switch option {
                case "smtps": listener.tls = .smtps
                case "tls": listener.tls = .starttls
                default: listener.tls = .required
                }
                if option != "tls", accept("verify") { listener.verifyClient = true }
            case "ciphers":
                try once("ciphers", token, &self)
                listener.ciphers = try parseString("a cipher list")
            case "protocols":
                try once("protocols", token, &self)
                listener.protocols = try parseString("a protocol list")
            case "pki":
                let nameToken = peek()
                let name = try parseString("a pki name").lowercased()
                guard config.pkis[name] != nil else {
                    throw fail("pki name not found: \(name)", at: nameToken)
                }
                listener.pkis.append(name)
            case "ca":
                try once("ca", token, &self)
                let nameToken = peek()
                let name = try parseString("a ca name").lowercased()
                guard config.cas[name] != nil else {
                    throw fail("ca name not found: \(name)", at: nameToken)
                }
                listener.ca = name
            case "auth", "auth-optional":
                try once("auth", token, &self)
                // The MailLab words that may follow are options, not a table value.
                let atOption = at("auth-plaintext") || at("auth-accept-any")
                let table = atTable && !atOption ? try parseTableRef() : nil
                listener.auth = option == "auth" ? .required(table) : .optional(table)
            case "auth-plaintext":
                try once("auth-plaintext", token, &self)
                listener.authWithoutTLS = true
            case "auth-accept-any":
                try once("auth-accept-any", token, &self)
                listener.authAcceptAny = true
            case "tag":
                try once("tag", token, &self)
                listener.tag = try tag()
            case "hostname":
                try once("hostname", token, &self)
                listener.hostname = try parseString("a host name")
            case "hostnames":
                try once("hostnames", token, &self)
                listener.hostnames = try parseTableRef()
            case "mask-src", "mask-source":
                try once("mask-source", token, &self)
                listener.maskSource = true
            case "received-auth":
                try once("received-auth", token, &self)
                listener.receivedAuth = true
            case "no-smtputf8":
                try once("no-smtputf8", token, &self)
                listener.noSMTPUTF8 = true
            case "no-chunking":
                try once("no-chunking", token, &self)
                listener.noChunking = true
            case "no-pipelining":
                try once("no-pipelining", token, &self)
                listener.noPipelining = true
            case "no-8bitmime":
                try once("no-8bitmime", token, &self)
                listener.no8BitMIME = true
            case "no-dsn":
                try once("no-dsn", token, &self)
                listener.noDSN = true
            case "proxy-v2":
                try once("proxy-v2", token, &self)
                listener.proxyV2 = true
            case "senders":
                try once("senders", token, &self)
                listener.senders = try parseTableRef()
                listener.masquerade = accept("masquerade")
            case "filter":
                try once("filter", token, &self)
                listener.filter = try filterName()
            default:
                consumed.removeLast()
                throw unexpected(token, expected: "a listen option")
            }
        }

        if !portGiven { listener.port = listener.tls == .smtps ? 465 : 25 }
        switch listener.auth {
        case .none:
            if listener.authWithoutTLS || listener.authAcceptAny {
                throw fail(
                    "invalid listen option: \(listener.authAcceptAny ? "auth-accept-any" : "auth-plaintext") "
                        + "requires auth or auth-optional", at: start)
            }
        case .required(let table), .optional(let table):
            if listener.tls == .none && !listener.authWithoutTLS {
                throw fail("invalid listen option: auth requires tls/smtps", at: start)
            }
            if listener.authAcceptAny && table != nil {
                throw fail(
                    "invalid listen option: auth-accept-any takes no credentials table",
                    at: start)
            }
        }
        if !listener.pkis.isEmpty && listener.tls == .none {
            throw fail("invalid listen option: pki requires tls/smtps", at: start)
        }
        if listener.pkis.isEmpty && listener.tls != .none {
            throw fail("invalid listen option: pki required for tls/smtps", at: start)
        }
        config.listeners.append(listener)
    }

    /// `listen on socket [mask-src] [tag T] [filter F] [no-dsn]`.
    private mutating func socketListener(at start: Token) throws {
        if config.listeners.contains(where: { $0.target == .socket }) {
            throw fail("socket listener already configured", at: start)
        }
        var listener = ListenDirective(target: .socket, location: location(start))
        var seen: Set<String> = []
        while !atEndOfStatement {
            let token = peek()
            guard case .word(let option) = token.kind,
                ["mask-src", "mask-source", "tag", "filter", "no-dsn"].contains(option)
            else {
                throw unexpected(token, expected: "mask-src, tag, filter or no-dsn")
            }
            advance()
            let key = option == "mask-source" ? "mask-src" : option
            guard seen.insert(key).inserted else {
                throw fail("\(key) already specified", at: token)
            }
            switch key {
            case "mask-src": listener.maskSource = true
            case "tag": listener.tag = try tag()
            case "filter": listener.filter = try filterName()
            default: listener.noDSN = true
            }
        }
        config.listeners.append(listener)
    }

    private mutating func tag() throws -> String {
        let token = peek()
        let tag = try parseString("a tag")
        // SMTPD_TAG_SIZE is 32 including the NUL.
        guard tag.utf8.count < 32 else { throw fail("tag name too long", at: token) }
        return tag
    }

    /// `filter NAME` (declared earlier) or `filter { NAME, … }`; the chain is kept as one
    /// comma-separated string.
    private mutating func filterName() throws -> String {
        if at(symbol: "{") {
            guard case .list(let names) = try inlineTable() else {
                throw fail("syntax error: a filter chain is a list of filter names", at: peek())
            }
            return names.joined(separator: ",")
        }
        let token = peek()
        let name = try parseString("a filter name")
        guard config.filters.contains(name) else {
            throw fail("no filter exist with that name: \(name)", at: token)
        }
        return name
    }

    /// `port N` (1-65535), `port smtp|smtps|submission`; a quoted number is a service name
    /// and no service has a numeric name (`invalid port: 2587`, as OpenSMTPD says).
    private mutating func port() throws -> UInt16 {
        let token = peek()
        switch token.kind {
        case .number(let n):
            advance()
            guard n >= 1, n <= 65_535 else {
                throw fail("invalid port: \(n) (must be 1-65535)", at: token)
            }
            return UInt16(n)
        case .word(let s), .quoted(let s):
            advance()
            // getservbyname(3) on the names Debian's /etc/services gives to mail ports.
            let services: [String: UInt16] = [
                "smtp": 25, "smtps": 465, "submissions": 465, "submission": 587,
            ]
            guard let port = services[s] else { throw fail("invalid port: \(s)", at: token) }
            return port
        default:
            throw unexpected(token, expected: "a port number")
        }
    }

    /// An IPv4 or IPv6 literal is an address; any other word is left to the server.
    static func target(_ word: String) -> ListenTarget {
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, word, &buffer) == 1 || inet_pton(AF_INET6, word, &buffer) == 1 {
            return .address(word)
        }
        return .interface(word)
    }
}
