/// AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), as OpenSMTPD 6.8's smtp_session.c answers
/// them: `smtp_check_auth`, `smtp_proceed_auth`, `smtp_rfc4954_auth_plain`,
/// `smtp_rfc4954_auth_login`, the `IMSG_SMTP_AUTHENTICATE` answer and
/// `smtp_auth_failure_resume`. The replies taken from there (reference table rows 15, 40, 42,
/// 43, 44): `503 5.5.1 Invalid command: Command not allowed at this point.` (before HELO or
/// inside a transaction), `503 5.5.1 Invalid command: Already authenticated`,
/// `503 5.5.1 Invalid command: Command not supported`, `501 5.5.4 Invalid command arguments:
/// No parameters given`, `504 5.7.4 Security features not supported: AUTH method "X" not
/// supported`, `334 ` / `334 VXNlcm5hbWU6` / `334 UGFzc3dvcmQ6`, `501 5.5.2 Syntax error:
/// Syntax error`, `235 2.0.0 Authentication succeeded`, `535 Authentication failed`,
/// `421 4.3.0 Temporary failure`, and MAIL's `530 5.5.1 Invalid command: Must issue an AUTH
/// command first`; the log line `smtp authentication user=U result=ok|permfail|tempfail`.
///
/// The credentials themselves are checked by the owner (`.authenticate`), as OpenSMTPD's
/// smtp process asks its lookup process: checking a bcrypt hash is slow work for a loop.
extension SMTPSession {
    /// The answer to the last `.authenticate`. OpenSMTPD: `LKA_OK`, `LKA_PERMFAIL`,
    /// `LKA_TEMPFAIL`.
    public enum AuthenticationResult: Sendable, Equatable {
        case accepted
        case rejected
        case temporaryFailure
    }

    static let authSyntaxError = "501 5.5.2 Syntax error: Syntax error"

    /// EHLO offers AUTH on an `auth`/`auth-optional` listener under TLS (or, with
    /// `auth-plaintext`, before it too) until the client has authenticated.
    /// OpenSMTPD: `ADVERTISE_AUTH`.
    var advertisesAuth: Bool {
        configuration.authOffer != .none && (isSecure || configuration.authWithoutTLS)
            && authenticatedUser == nil
    }

    /// True in the states where a line is an AUTH response, not a command.
    var inAuthDialogue: Bool {
        state == .authInit || state == .authUsername || state == .authPassword
    }

    mutating func checkAuth(_ arguments: [UInt8]?) -> Bool {
        if heloName == nil || !$transaction.isNil {
            reply(Self.notAllowed)
            return false
        }
        if authenticatedUser != nil {
            reply("503 5.5.1 Invalid command: Already authenticated")
            return false
        }
        if !advertisesAuth {
            reply("503 5.5.1 Invalid command: Command not supported")
            return false
        }
        guard arguments != nil else {
            reply("501 5.5.4 Invalid command arguments: No parameters given")
            return false
        }
        return true
    }

    /// `AUTH METHOD [initial-response]`: the method ends at the first space or tab.
    mutating func proceedAuth(_ arguments: [UInt8]?) {
        let arguments = arguments ?? []
        let end = arguments.firstIndex { $0 == ASCII.space || $0 == UInt8(ascii: "\t") }
        let method = arguments[..<(end ?? arguments.count)]
        let initial = end.map { Array(arguments[($0 + 1)...]) }
        if ASCII.equalsIgnoringCase(method, "PLAIN") {
            enterState(.authInit)
            guard let initial else {
                // The whole line is "334 " with its trailing space.
                reply("334 ")
                return
            }
            authPlainResponse(initial)
        } else if ASCII.equalsIgnoringCase(method, "LOGIN") {
            enterState(.authUsername)
            // OpenSMTPD takes an initial response as the user name (RFC 4954 §4 allows it).
            guard let initial, !initial.isEmpty else {
                reply("334 VXNlcm5hbWU6")
                return
            }
            authLoginResponse(initial)
        } else {
            reply(
                "504 5.7.4 Security features not supported: AUTH method \""
                    + ASCII.visible(method) + "\" not supported")
        }
    }

    /// One line of the AUTH dialogue (after a 334).
    mutating func authDialogueLine(_ line: [UInt8]) {
        if state == .authInit {
            authPlainResponse(line)
        } else {
            authLoginResponse(line)
        }
    }

    /// `authzid NUL authcid NUL passwd` (RFC 4616 §2); the authzid is ignored, as OpenSMTPD
    /// does. A client's `*` (cancel, RFC 4954 §4) is not base64 and gets the same 501.
    /// Departure: OpenSMTPD refuses a one-byte password as a syntax error (its check leaves
    /// room for two); RFC 4616 allows it and it is checked like any other.
    mutating func authPlainResponse(_ response: [UInt8]) {
        guard let decoded = Base64.decode(response, limit: limits.maxAuthResponseLength) else {
            return abortAuth()
        }
        let fields = decoded.split(separator: 0, omittingEmptySubsequences: false)
        guard fields.count == 3, !fields[1].isEmpty, !fields[2].isEmpty else {
            return abortAuth()
        }
        requestAuthentication(
            AuthenticationRequest(
                mechanism: "PLAIN", user: Array(fields[1]), password: Array(fields[2])))
    }

    /// The user name, then the password, each base64 on its own line. A NUL in either is a
    /// syntax error (OpenSMTPD would cut the C string there).
    mutating func authLoginResponse(_ response: [UInt8]) {
        guard let decoded = Base64.decode(response, limit: limits.maxAuthResponseLength),
            !decoded.contains(0)
        else {
            return abortAuth()
        }
        if state == .authUsername {
            authUser = decoded
            enterState(.authPassword)
            reply("334 UGFzc3dvcmQ6")
        } else {
            let user = authUser
            authUser = []
            requestAuthentication(
                AuthenticationRequest(mechanism: "LOGIN", user: user, password: decoded))
        }
    }

    mutating func abortAuth() {
        authUser = []
        reply(Self.authSyntaxError)
        enterState(.helo)
    }

    mutating func requestAuthentication(_ request: AuthenticationRequest) {
        enterState(.authFinalize)
        pendingAuthentication = request.userText
        events.append(.authenticate(request))
    }

    /// The answer to the `.authenticate` last handed out; then input buffered meanwhile is
    /// processed. On `.rejected` the owner should have waited a moment first, as OpenSMTPD
    /// waits a random 0–1 s (`smtp_auth_failure_pause`) against timing attacks.
    public mutating func authenticationFinished(_ result: AuthenticationResult) -> [SessionEvent] {
        guard let user = pendingAuthentication, !closed else {
            pendingAuthentication = nil
            return []
        }
        pendingAuthentication = nil
        switch result {
        case .accepted:
            log("smtp authentication user=\(user) result=ok")
            authenticatedUser = user
            reply("235 2.0.0 Authentication succeeded")
            enterState(.helo)
        case .rejected:
            log("smtp authentication user=\(user) result=permfail")
            authFailures += 1
            reply("535 Authentication failed")
            enterState(.helo)
            if authFailures >= limits.maxAuthFailures && !closed {
                emitReply(
                    "421 4.7.0 \(serverName) Too many authentication failures, closing connection"
                )
                closeSession(reason: "quit")
            }
        case .temporaryFailure:
            log("smtp authentication user=\(user) result=tempfail")
            reply("421 4.3.0 Temporary failure")
            // A 421 announces the end of the session (RFC 5321 §3.8).
            closeSession(reason: "quit")
        }
        processInput()
        return drainEvents()
    }

    /// What the trace and the failed-command log show of an AUTH line: never a credential.
    /// OpenSMTPD reports `AUTH PLAIN ********` and `********` to its filters the same way.
    func maskedAuthLine(_ line: [UInt8]) -> [UInt8]? {
        if inAuthDialogue { return Array("********".utf8) }
        // Most lines are not AUTH: one byte says so before any prefix is compared.
        guard let first = line.first, first | 0x20 == UInt8(ascii: "a") else { return nil }
        for method in ["AUTH PLAIN ", "AUTH LOGIN "] where ASCII.hasPrefixIgnoringCase(line, method)
        {
            return Array(line.prefix(method.utf8.count)) + Array("********".utf8)
        }
        return nil
    }
}

/// Credentials a client offered, to be checked by the session's owner.
public struct AuthenticationRequest: Sendable, Equatable {
    /// `PLAIN` or `LOGIN`.
    public var mechanism: String
    /// The user name (authcid) as the client sent it: any bytes but NUL.
    public var user: [UInt8]
    /// Any bytes but NUL.
    public var password: [UInt8]

    public init(mechanism: String, user: [UInt8], password: [UInt8]) {
        self.mechanism = mechanism
        self.user = user
        self.password = password
    }

    /// The user name for logs and `Received:`: control bytes and non-UTF-8 shown escaped,
    /// as OpenSMTPD's `strnvis(VIS_WHITE | VIS_SAFE)` does.
    public var userText: String { ASCII.visible(user) }
}
