import SMTPConfig
import SMTPProtocol

/// The recipient policy of a configuration: the first `match` rule whose conditions all
/// hold decides; its action resolves the local user and the Maildir path, as OpenSMTPD's
/// ruleset and lka do. Recipients no rule matches are refused (`550 Invalid recipient`).
///
/// Departure: MailLab writes deliveries itself instead of running a helper as the recipient:
/// as the recipient's user (the writer thread's file-system identity) where the Maildir lies
/// in that user's home or the action names a `user`, as smtpd elsewhere (a fixed path such as
/// a lab's); delivery to root is allowed (OpenSMTPD refuses it after answering 250).
struct RecipientRouter: RecipientPolicy {
    /// What the rules know about the listener and the host.
    struct Environment: Sendable {
        var serverName: String
        var listenerTag: String?
        /// `for local`: localhost, the server name, every interface address in its forms.
        var localNames: Set<String>
        /// `from local`: every interface address of the host.
        var localAddresses: Set<String>
        var workingDirectory: String
        var subaddressDelimiter: String
    }

    let rules: [MatchRule]
    let actions: [String: ActionDirective]
    let tables: [String: LoadedTable]
    let inlineTables: [TableRef: LoadedTable]
    let users: any UserDatabase
    let environment: Environment
    let warn: @Sendable (String) -> Void
    /// Maildir path templates, parsed once, not per recipient (BENCHMARKS.md, "Figures behind
    /// code choices").
    let templates: [String: FormatTemplate]
    /// Templates without a `%{…}` or `~`, already resolved: every recipient gets the same
    /// path, so nothing is built per recipient (the no-storage `/dev/null` is one).
    let fixedPaths: [String: String]

    init(
        configuration: SMTPConfiguration, environment: Environment, users: any UserDatabase,
        warn: @escaping @Sendable (String) -> Void
    ) throws(ServerErrors) {
        var errors: [ServerError] = []
        var tables: [String: LoadedTable] = [:]
        for (name, table) in configuration.tables {
            do {
                tables[name] = try LoadedTable(table)
            } catch {
                errors.append(
                    ServerError(
                        error.message, location: configuration.tableLocations[name]?.description))
            }
        }
        var inline: [TableRef: LoadedTable] = [:]
        func collect(_ ref: TableRef?) {
            guard let ref, case .inline(let table) = ref, inline[ref] == nil else { return }
            if let loaded = try? LoadedTable(table) { inline[ref] = loaded }
        }
        for rule in configuration.rules {
            for condition in rule.conditions { Self.tableRefs(of: condition.kind).forEach(collect) }
        }
        for action in configuration.actions {
            collect(action.alias)
            collect(action.virtual)
            collect(action.userbase)
        }
        guard errors.isEmpty else { throw ServerErrors(errors: errors) }
        self.rules = configuration.rules
        self.actions = Dictionary(
            configuration.actions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.tables = tables
        self.inlineTables = inline
        self.users = users
        self.environment = environment
        self.warn = warn
        var templates: [String: FormatTemplate] = [:]
        var fixedPaths: [String: String] = [:]
        for action in configuration.actions {
            if case .maildir(let path?, _) = action.method, let parsed = try? FormatTemplate(path) {
                templates[path] = parsed
                let literal = parsed.parts.allSatisfy {
                    if case .literal = $0 { true } else { false }
                }
                let directory = environment.workingDirectory
                if literal, let resolved = Self.resolve(path, workingDirectory: directory) {
                    fixedPaths[path] = resolved
                }
            }
        }
        self.templates = templates
        self.fixedPaths = fixedPaths
    }

    private static func tableRefs(of kind: ConditionKind) -> [TableRef?] {
        switch kind {
        case .fromSource(let t), .fromMailFrom(let t), .forDomain(let t), .forRcptTo(let t),
            .tag(let t), .helo(let t), .mailFrom(let t), .rcptTo(let t):
            return [t]
        case .fromRDNS(let t), .fromAuth(let t), .auth(let t): return [t]
        case .fromAny, .fromLocal, .fromSocket, .forAny, .forLocal, .tls: return []
        }
    }

    private func table(_ ref: TableRef) -> LoadedTable? {
        switch ref {
        case .named(let name): tables[name]
        case .inline: inlineTables[ref]
        }
    }

    func evaluate(_ recipient: MailAddress, context: RecipientContext) -> RecipientVerdict {
        for rule in rules
        where rule.conditions.allSatisfy({ holds($0, recipient: recipient, context: context) }) {
            switch rule.decision {
            case .reject: return .reject
            case .action(let name):
                guard let action = actions[name] else { return .reject }
                return route(recipient, with: action, context: context)
            }
        }
        return .reject
    }

    // MARK: Conditions

    private func holds(
        _ condition: MatchCondition, recipient: MailAddress, context: RecipientContext
    )
        -> Bool
    {
        let result = test(condition, recipient: recipient, context: context)
        return condition.negated ? !result : result
    }

    private func test(
        _ condition: MatchCondition, recipient: MailAddress, context: RecipientContext
    )
        -> Bool
    {
        let regex = condition.regex
        func matches(_ ref: TableRef?, _ value: String) -> Bool {
            guard let ref, let table = table(ref) else { return false }
            return regex ? table.values.contains { regexMatch($0, value) } : table.contains(value)
        }
        func matchesAddress(_ ref: TableRef, _ path: ReversePath) -> Bool {
            guard let table = table(ref) else { return false }
            switch path {
            case .null: return table.values.contains("<>")
            case .address(let address):
                if regex { return table.values.contains { regexMatch($0, address.description) } }
                return table.matchesAddress(user: address.localPart, domain: address.domain)
            }
        }
        switch condition.kind {
        case .fromAny: return true
        case .fromLocal:
            return environment.localAddresses.contains(context.peer.address)
        case .fromSocket: return false  // MailLab has no local enqueuer socket
        case .fromSource(let ref):
            guard let table = table(ref) else { return false }
            if regex { return table.values.contains { regexMatch($0, context.peer.address) } }
            return table.values.contains { addressInNetwork(context.peer.address, $0) }
        case .fromRDNS(let ref):
            guard let name = context.peer.hostName else { return false }
            return ref.map { matches($0, name) } ?? true
        case .fromAuth(let ref), .auth(let ref):
            // `auth`: any authenticated user; `auth <t>`: one the table lists.
            guard let user = context.authenticatedUser else { return false }
            return ref.map { matches($0, user) } ?? true
        case .tls: return context.isSecure
        case .fromMailFrom(let ref), .mailFrom(let ref): return matchesAddress(ref, context.sender)
        case .forAny: return true
        case .forLocal: return environment.localNames.contains(recipient.domain.lowercased())
        case .forDomain(let ref):
            guard let table = table(ref) else { return false }
            if regex { return table.values.contains { regexMatch($0, recipient.domain) } }
            return table.matchesDomain(recipient.domain)
        case .forRcptTo(let ref), .rcptTo(let ref):
            return matchesAddress(ref, .address(recipient))
        case .tag(let ref): return environment.listenerTag.map { matches(ref, $0) } ?? false
        case .helo(let ref): return matches(ref, context.heloName)
        }
    }

    // MARK: Actions

    func route(
        _ recipient: MailAddress, with action: ActionDirective, context: RecipientContext
    )
        -> RecipientVerdict
    {
        if case .relay = action.method {
            // Checked when the plan was made (ServerPlan.relayRoutes): every relay action
            // left is one the queue can carry out.
            return .accept(.relay(action: action.name))
        }
        guard case .maildir(let template, _) = action.method else {
            warn(
                "action \"\(action.name)\" (\(action.location)): \(describe(action.method)) delivery is not supported by MailLab; refusing <\(recipient)>"
            )
            return .reject
        }
        var localPart = recipient.localPart.lowercased()
        let delimiter = environment.subaddressDelimiter
        // An ASCII delimiter (the usual "+") is searched as a byte: a search by Character runs
        // grapheme breaking, thousands of instructions a recipient.
        if let mark = delimiter.first,
            let cut = mark.asciiValue.map({ localPart.utf8.firstIndex(of: $0) })
                ?? localPart.firstIndex(of: mark)
        {
            localPart = String(localPart[..<cut])
        }
        var destination = MailAddress(localPart: localPart, domain: recipient.domain.lowercased())

        // virtual: address → user, with "@domain" and "@" catch-all keys; alias: user → user.
        if let ref = action.virtual {
            guard let table = table(ref),
                let target = table.value(for: "\(localPart)@\(destination.domain)")
                    ?? table.value(for: localPart)
                    ?? table.value(for: "@\(destination.domain)")
                    ?? table.value(for: "@")
            else { return .reject }
            destination = Self.address(target, default: destination.domain)
        } else if let ref = action.alias, let table = table(ref),
            let target = table.value(for: localPart)
        {
            destination = Self.address(target, default: destination.domain)
        }

        let userName = action.user ?? destination.localPart
        let userbase: any UserDatabase =
            action.userbase.flatMap { table($0) }.map { TableUsers(entries: $0.mapping) } ?? users
        guard let user = userbase.user(named: userName) else { return .reject }

        guard
            let path = maildirPath(
                template, recipient: recipient, destination: destination, user: user,
                sender: context.sender)
        else {
            warn(
                "action \"\(action.name)\" (\(action.location)): the maildir path for <\(recipient)> is unsafe; refusing"
            )
            return .temporaryFailure
        }
        return .accept(
            RecipientRoute(
                action: action.name, user: user.name, mailbox: path,
                owner: Self.owner(of: path, user: user, named: action.user != nil)))
    }

    /// Whom the Maildir `path` is written as: `user` when the action names it (`user NAME`)
    /// or when `path` lies in the user's home; nil (smtpd itself) for other paths, for a user
    /// without ids and for root (nothing to switch to).
    static func owner(of path: String, user: LocalUser, named: Bool) -> MailboxOwner? {
        guard let identity = user.identity, identity.user != 0 else { return nil }
        let home = user.home.hasSuffix("/") ? String(user.home.dropLast()) : user.home
        guard named || (!home.isEmpty && path.hasPrefix(home + "/")) else { return nil }
        return MailboxOwner(
            name: user.name, user: identity.user, group: identity.group, groups: identity.groups)
    }

    /// Expands the action's path; nil if the result could leave its folder. Recipient-typed
    /// values cannot carry `/` into the path: it becomes `:` before expansion.
    private func maildirPath(
        _ template: String?, recipient: MailAddress, destination: MailAddress, user: LocalUser,
        sender: ReversePath
    ) -> String? {
        func clean(_ s: String) -> String { s.replacingSlashes() }
        let senderParts: (String, String) =
            switch sender {
            case .null: ("", "")
            case .address(let a): (clean(a.localPart), clean(a.domain))
            }
        if let template, let fixed = fixedPaths[template] { return fixed }
        var expanded: String
        if let template {
            guard let format = templates[template] ?? (try? FormatTemplate(template)) else {
                return nil
            }
            let values = FormatTemplate.Values(
                sender: senderParts, rcpt: (clean(recipient.localPart), clean(recipient.domain)),
                dest: (clean(destination.localPart), clean(destination.domain)),
                userName: clean(user.name), userDirectory: user.home,
                subaddressDelimiter: environment.subaddressDelimiter)
            guard let result = format.expand(values) else { return nil }
            expanded = result
        } else {
            expanded = user.home + "/Maildir"
        }
        return Self.resolve(expanded, workingDirectory: environment.workingDirectory)
    }

    /// An absolute path without `.`/`..` components or empty ones; nil if it has dots or NUL.
    private static func resolve(_ path: String, workingDirectory: String) -> String? {
        var expanded = path
        if !expanded.hasPrefix("/") {
            // MailLab extension: a relative path is relative to the server's working directory.
            expanded = workingDirectory + "/" + expanded
        }
        let components = expanded.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains(where: { $0 == ".." || $0 == "." }), !expanded.contains("\0")
        else { return nil }
        return "/" + components.joined(separator: "/")
    }

    private static func address(_ text: String, default domain: String) -> MailAddress {
        if let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) {
            return MailAddress(
                localPart: String(text[..<at]).lowercased(),
                domain: String(text[text.utf8.index(after: at)...]).lowercased())
        }
        return MailAddress(localPart: text.lowercased(), domain: domain)
    }

    private func describe(_ method: DeliveryMethod) -> String {
        switch method {
        case .maildir: "maildir"
        case .mbox: "mbox"
        case .lmtp: "lmtp"
        case .mda: "mda"
        case .expandOnly: "expand-only"
        case .forwardOnly: "forward-only"
        case .relay: "relay"
        }
    }
}

extension String {
    /// `/` → `:`, on UTF-8 bytes, with a fast path for the usual case (no slash): it runs 7
    /// times per recipient (BENCHMARKS.md, "Figures behind code choices").
    func replacingSlashes() -> String {
        guard utf8.contains(UInt8(ascii: "/")) else { return self }
        let bytes = utf8.map { $0 == UInt8(ascii: "/") ? UInt8(ascii: ":") : $0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `pattern` as a regular expression matched anywhere in `value` (OpenSMTPD's regex tables
/// use regexec without anchors).
func regexMatch(_ pattern: String, _ value: String) -> Bool {
    guard let regex = try? Regex(pattern) else { return false }
    return (try? regex.firstMatch(in: value)) != nil
}

/// `address` equals `network`, or lies in it when `network` is a CIDR (`10.0.0.0/24`).
func addressInNetwork(_ address: String, _ network: String) -> Bool {
    guard let slash = network.firstIndex(of: "/") else { return address == network }
    guard let bits = Int(network[network.index(after: slash)...]),
        let base = ipBytes(String(network[..<slash])), let candidate = ipBytes(address),
        base.count == candidate.count, bits >= 0, bits <= base.count * 8
    else { return false }
    for i in 0..<base.count {
        let remaining = bits - i * 8
        if remaining <= 0 { break }
        let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
        if base[i] & mask != candidate[i] & mask { return false }
    }
    return true
}
