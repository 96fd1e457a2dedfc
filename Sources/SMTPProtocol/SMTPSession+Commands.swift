/// The command table: verb → check → proceed, as OpenSMTPD's `commands[]` in
/// smtp_session.c. A check replies and returns false to refuse; proceed does the work.
extension SMTPSession {
    typealias Check = @Sendable (inout SMTPSession, [UInt8]?) -> Bool
    typealias Proceed = @Sendable (inout SMTPSession, [UInt8]?) -> Void

    struct CommandEntry: Sendable {
        let verb: String
        let check: Check
        let proceed: Proceed
    }

    static let commands: [CommandEntry] = [
        CommandEntry(
            verb: "HELO", check: { $0.checkHelo($1, verb: "HELO") }, proceed: { $0.proceedHelo($1) }
        ),
        CommandEntry(
            verb: "EHLO", check: { $0.checkHelo($1, verb: "EHLO") }, proceed: { $0.proceedEhlo($1) }
        ),
        CommandEntry(
            verb: "STARTTLS", check: { $0.checkStartTLS($1) },
            proceed: { s, _ in s.proceedStartTLS() }),
        CommandEntry(verb: "AUTH", check: { $0.checkAuth($1) }, proceed: { $0.proceedAuth($1) }),
        CommandEntry(
            verb: "MAIL FROM", check: { $0.checkMailFrom($1) }, proceed: { $0.proceedMailFrom($1) }),
        CommandEntry(
            verb: "RCPT TO", check: { $0.checkRcptTo($1) }, proceed: { $0.proceedRcptTo($1) }),
        CommandEntry(
            verb: "DATA", check: { $0.checkData($1) }, proceed: { s, _ in s.proceedData() }),
        CommandEntry(verb: "BDAT", check: { $0.checkBdat($1) }, proceed: { $0.proceedBdat($1) }),
        CommandEntry(
            verb: "RSET", check: { $0.checkRset($1) }, proceed: { s, _ in s.proceedRset() }),
        CommandEntry(
            verb: "QUIT", check: { $0.checkNoParameters($1) }, proceed: { s, _ in s.proceedQuit() }),
        CommandEntry(
            verb: "NOOP", check: { $0.checkNoParameters($1) },
            proceed: { s, _ in s.reply("250 2.0.0 Ok") }),
        CommandEntry(
            verb: "HELP", check: { $0.checkNoParameters($1) }, proceed: { s, _ in s.proceedHelp() }),
        CommandEntry(
            verb: "WIZ", check: { $0.checkNoParameters($1) },
            proceed: { s, _ in
                s.reply("500 5.5.1 Invalid command: this feature is not supported yet ;-)")
            }),
    ]

    static let notAllowed = "503 5.5.1 Invalid command: Command not allowed at this point."
    /// A UTF-8 address in a transaction whose MAIL had no `SMTPUTF8` (RFC 6531 §3.5,
    /// enhanced status from RFC 6533 §3; text as Postfix's).
    static let undeclaredUTF8 = "553 5.6.7 Must declare SMTPUTF8 to send unicode address"

    /// One command line (CR stripped). OpenSMTPD: the command part of `smtp_io` and
    /// `smtp_command`.
    mutating func commandLine(_ line: [UInt8], endedWithCRLF: Bool) {
        if line.count >= limits.commandLineMax {
            reply("500 5.0.0 Command line too long", badInput: true)
            closeSession(reason: "quit")
            return
        }
        let masked = maskedAuthLine(line)
        lastCommand = masked ?? line
        if tracing { trace("\(tracePrefix)<<< \(ASCII.visible(lastCommand))") }
        if lineMode == .strict && !endedWithCRLF {
            reply("500 5.5.2 Syntax error: bare <LF> received")
            if inAuthDialogue {
                authUser = []
                enterState(.helo)
            }
            return
        }
        if inAuthDialogue {
            authDialogueLine(line)
            return
        }
        let (verb, arguments) = Self.split(line)
        guard
            let index = Self.commands.firstIndex(where: {
                ASCII.equalsIgnoringCase(verb, $0.verb)
            }),
            Self.commands[index].verb != "BDAT" || configuration.chunking
        else {
            reply("500 5.5.1 Invalid command: Command unrecognized")
            return
        }
        if Self.commands[index].check(&self, arguments) {
            proceedWithFaults(index, arguments: arguments)
        }
    }

    /// `MAIL FROM:`/`RCPT TO:` are recognised with their colon (exactly, case-insensitively);
    /// other verbs end at the first space. Arguments are nil without a separator, else the
    /// rest after leading white space (possibly empty).
    static func split(_ line: [UInt8]) -> (verb: ArraySlice<UInt8>, arguments: [UInt8]?) {
        let separator: Int?
        if ASCII.hasPrefixIgnoringCase(line, "mail from:")
            || ASCII.hasPrefixIgnoringCase(line, "rcpt to:")
        {
            separator = line.firstIndex(of: ASCII.colon)
        } else {
            separator = line.firstIndex(of: ASCII.space)
        }
        guard let separator else { return (line[...], nil) }
        var start = separator + 1
        while start < line.count && ASCII.isSpace(line[start]) { start += 1 }
        return (line[..<separator], Array(line[start...]))
    }

    // MARK: - Checks

    mutating func checkNoParameters(_ arguments: [UInt8]?) -> Bool {
        guard arguments == nil else {
            reply("500 5.5.4 Invalid command arguments: command does not accept arguments.")
            return false
        }
        return true
    }

    mutating func checkHelo(_ arguments: [UInt8]?, verb: String) -> Bool {
        if heloName != nil {
            reply("503 5.5.1 Invalid command: Already identified")
            return false
        }
        guard let arguments else {
            reply("501 5.5.1 Invalid command: \(verb) requires domain name")
            return false
        }
        guard DomainName.isValid(arguments, maxLength: limits.maxDomainLength) else {
            reply("501 5.5.4 Invalid command arguments: Invalid domain name")
            return false
        }
        return true
    }

    mutating func checkMailFrom(_ arguments: [UInt8]?) -> Bool {
        if heloName == nil || !$transaction.isNil {
            reply(Self.notAllowed)
            return false
        }
        if configuration.tlsOffer == .required && !isSecure {
            reply("530 5.5.1 Invalid command: Must issue a STARTTLS command first")
            return false
        }
        if configuration.authOffer == .required && authenticatedUser == nil {
            reply("530 5.5.1 Invalid command: Must issue an AUTH command first")
            return false
        }
        if messageCount >= limits.maxMessagesPerSession {
            reply("452 4.5.3 Too many recipients: Too many messages sent")
            return false
        }
        guard parsePath(arguments, allowNull: true) != nil else {
            reply("553 5.1.0 Sender address syntax error")
            return false
        }
        return true
    }

    mutating func checkRcptTo(_ arguments: [UInt8]?) -> Bool {
        guard let transaction else {
            reply(Self.notAllowed)
            return false
        }
        if transaction.recipients.count >= limits.maxRecipients {
            reply("451 4.5.3 Too many recipients: Too many recipients")
            return false
        }
        guard parsePath(arguments, allowNull: false) != nil else {
            reply("501 5.1.3 Recipient address syntax error")
            return false
        }
        return true
    }

    mutating func checkData(_ arguments: [UInt8]?) -> Bool {
        guard checkNoParameters(arguments) else { return false }
        guard let transaction else {
            reply(Self.notAllowed)
            return false
        }
        guard !transaction.recipients.isEmpty else {
            reply("503 5.5.4 Invalid command arguments: No recipient specified")
            return false
        }
        if !$data.isNil {
            reply("503 5.5.1 Invalid command: DATA not allowed after BDAT")
            return false
        }
        if transaction.binaryMIME {
            reply("503 5.5.1 Invalid command: BODY=BINARYMIME needs BDAT")
            return false
        }
        return true
    }

    mutating func checkRset(_ arguments: [UInt8]?) -> Bool {
        guard checkNoParameters(arguments) else { return false }
        guard heloName != nil else {
            reply(Self.notAllowed)
            return false
        }
        return true
    }

    func parsePath(_ arguments: [UInt8]?, allowNull: Bool) -> ParsedPath? {
        guard let arguments else { return nil }
        return AddressParser.parse(
            arguments, allowNull: allowNull, serverName: serverName, limits: limits,
            allowUTF8: configuration.smtputf8)
    }

    // MARK: - Proceed

    mutating func proceedHelo(_ arguments: [UInt8]?) {
        let name = ASCII.string(arguments ?? [])
        heloName = name
        extended = false
        enterState(.helo)
        reply("250 \(serverName) Hello \(name) [\(peer.address)], pleased to meet you")
    }

    mutating func proceedEhlo(_ arguments: [UInt8]?) {
        let name = ASCII.string(arguments ?? [])
        heloName = name
        extended = true
        enterState(.helo)
        reply("250-\(serverName) Hello \(name) [\(peer.address)], pleased to meet you")
        if configuration.eightBitMIME {
            reply("250-8BITMIME")
        }
        reply("250-ENHANCEDSTATUSCODES")
        reply("250-SIZE \(limits.maxMessageSize)")
        if configuration.dsn {
            reply("250-DSN")
        }
        if advertisesStartTLS {
            reply("250-STARTTLS")
        }
        if advertisesAuth {
            reply("250-AUTH PLAIN LOGIN")
        }
        if configuration.advertisePipelining {
            reply("250-PIPELINING")
        }
        if configuration.chunking {
            reply("250-CHUNKING")
            reply("250-BINARYMIME")
        }
        if configuration.smtputf8 {
            reply("250-SMTPUTF8")
        }
        reply("250 HELP")
    }

    mutating func proceedHelp() {
        reply("214-2.0.0 This is \(configuration.softwareName)")
        reply("214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP HELP QUIT")
        reply("214-2.0.0 To report problems, contact the postmaster of this server")
        reply("214 2.0.0 End of HELP info")
    }

    mutating func proceedMailFrom(_ arguments: [UInt8]?) {
        guard let parsed = parsePath(arguments, allowNull: true) else { return }
        if let refusal = ESMTPParameters.checkMail(
            parsed.parameters, limits: limits, smtputf8: configuration.smtputf8,
            binaryMIME: configuration.chunking, dsn: configuration.dsn,
            eightBitMIME: configuration.eightBitMIME, freeStorage: environment.freeStorage)
        {
            reply(refusal)
            return
        }
        let declared =
            configuration.smtputf8
            && parsed.parameters.contains { ASCII.equalsIgnoringCase($0, "SMTPUTF8") }
        if parsed.isInternational && !declared {
            reply(Self.undeclaredUTF8)
            return
        }
        // OpenSMTPD asks the senders table after the parameters, only once authenticated.
        if let user = authenticatedUser, let allowed = configuration.senderAllowed,
            !allowed(user, parsed.path)
        {
            reply("530 Sender rejected")
            return
        }
        transaction = Transaction(
            messageID: environment.random() & 0xFFFF_FFFF, sender: parsed.path)
        transaction?.smtputf8 = declared
        let binaryMIME =
            configuration.chunking
            && parsed.parameters.contains { ASCII.equalsIgnoringCase($0, "BODY=BINARYMIME") }
        transaction?.binaryMIME = binaryMIME
        transaction?.dsn = ESMTPParameters.dsnRequest(parsed.parameters)
        reply("250 2.0.0 Ok")
    }

    mutating func proceedRcptTo(_ arguments: [UInt8]?) {
        guard let parsed = parsePath(arguments, allowNull: false),
            case .address(let address) = parsed.path, let current = transaction
        else { return }
        if let refusal = ESMTPParameters.checkRecipient(
            parsed.parameters, limits: limits, dsn: configuration.dsn)
        {
            reply(refusal)
            return
        }
        if parsed.isInternational && !current.smtputf8 {
            reply(Self.undeclaredUTF8)
            return
        }
        // The same address twice is one recipient: one file, not two.
        let key = address.description.lowercased()
        if current.recipientKeys.contains(key) {
            reply("250 2.1.5 Destination address valid: Recipient ok")
            return
        }
        let context = RecipientContext(
            peer: peer, heloName: heloName ?? "", sender: current.sender,
            authenticatedUser: authenticatedUser, isSecure: isSecure)
        switch policy.evaluate(address, context: context) {
        case .accept(let route):
            let envelopeID = (current.messageID << 32) | (environment.random() & 0xFFFF_FFFF)
            transaction?.recipients.append(
                AcceptedRecipient(
                    address: address, original: address.description, route: route,
                    dsn: ESMTPParameters.recipientDSN(parsed.parameters)))
            transaction?.envelopeIDs.append(envelopeID)
            transaction?.recipientKeys.insert(key)
            reply("250 2.1.5 Destination address valid: Recipient ok")
        case .reject:
            reply("550 Invalid recipient: <\(address)>")
        case .temporaryFailure:
            reply("451 Temporary failure: <\(address)>")
        }
    }

    mutating func proceedRset() {
        reply("250 2.0.0 Reset state")
        transaction = nil
        data = nil
    }

    mutating func proceedQuit() {
        reply("221 2.0.0 Bye")
        closeSession(reason: "quit")
    }
}
