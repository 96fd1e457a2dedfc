import CSystem
import Glibc
import LinuxSystem
import SMTPConfig
import SMTPProtocol

/// Checks the credentials of an AUTH. Runs off the loops (bcrypt is slow on purpose).
/// OpenSMTPD: `lka_authenticate` (a credentials table) and `parent_auth_user` (the system's
/// users).
public protocol CredentialChecker: Sendable {
    func check(_ request: AuthenticationRequest) -> SMTPSession.AuthenticationResult
}

/// `listen … auth <table>`: `user hash` lines, the hash as crypt(3) writes it (bcrypt
/// `$2b$…`, SHA-512 `$6$…`, as `smtpctl encrypt` prints them). User names are looked up
/// without regard to case, as every MailLab table key.
public struct CredentialTable: CredentialChecker {
    let hashes: [String: String]
    let warn: @Sendable (String) -> Void

    /// `hashes`: user name → crypt(3) hash.
    public init(hashes: [String: String], warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.hashes = Dictionary(
            hashes.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.warn = warn
    }

    public func check(_ request: AuthenticationRequest) -> SMTPSession.AuthenticationResult {
        let user = String(decoding: request.user, as: UTF8.self)
        guard let hash = hashes[user.lowercased()] else { return .rejected }
        switch PasswordHash.matches(request.password, hash: hash) {
        case true?: return .accepted
        case false?: return .rejected
        case nil:
            warn("warn: credentials of \(request.userText): the hash is no crypt(3) hash")
            return .rejected
        }
    }
}

/// `listen … auth` without a table: the system's users, their hash from the shadow file
/// (getspnam_r), else from passwd (getpwnam_r). A locked or empty hash (`!`, `*`, ``) never
/// matches. Needs root to read /etc/shadow.
public struct SystemCredentials: CredentialChecker {
    public init() {}

    public func check(_ request: AuthenticationRequest) -> SMTPSession.AuthenticationResult {
        guard !request.user.isEmpty, !request.user.contains(0) else { return .rejected }
        var buffer = [CChar](repeating: 0, count: 1024)
        let name = String(decoding: request.user, as: UTF8.self)
        let status = csystem_user_password_hash(name, &buffer, buffer.count)
        if status != 0 { return errno == 0 ? .rejected : .temporaryFailure }
        let hash = cText(buffer)
        guard hash.hasPrefix("$") else { return .rejected }
        return PasswordHash.matches(request.password, hash: hash) == true ? .accepted : .rejected
    }
}

/// MailLab `auth-accept-any` (the embedding API's `Authentication.acceptAny`): every user
/// name and password is accepted and the name recorded. For testing a client's AUTH against
/// a catch-all server only: it authenticates nobody.
public struct AnyCredentials: CredentialChecker {
    public init() {}
    public func check(_ request: AuthenticationRequest) -> SMTPSession.AuthenticationResult {
        .accepted
    }
}

/// crypt(3), through libxcrypt.
public enum PasswordHash {
    /// True if `password` hashes to `hash`; nil if `hash` is nothing crypt(3) can use.
    /// A password with a NUL never matches (crypt takes C strings).
    public static func matches(_ password: [UInt8], hash: String) -> Bool? {
        guard !password.contains(0) else { return false }
        var phrase = password.map { CChar(bitPattern: $0) }
        phrase.append(0)
        defer { for index in phrase.indices { phrase[index] = 0 } }
        switch csystem_crypt_check(phrase, hash) {
        case 1: return true
        case 0: return false
        default: return nil
        }
    }

    /// The methods `make` offers.
    public enum Method: String, Sendable, CaseIterable {
        /// bcrypt, what `smtpctl encrypt` writes on OpenBSD.
        case bcrypt = "$2b$"
        /// SHA-512 crypt, what it writes on glibc systems.
        case sha512 = "$6$"
    }

    /// A new hash of `password` with a random salt. `smtpctl encrypt`.
    public static func make(_ password: String, method: Method = .bcrypt) throws(SystemError)
        -> String
    {
        var buffer = [CChar](repeating: 0, count: 512)
        let status = csystem_crypt_new(password, method.rawValue, &buffer, buffer.count)
        guard status == 0 else {
            throw SystemError("crypt", method.rawValue, errno: errno)
        }
        return cText(buffer)
    }
}

/// A listener's AUTH: what it offers and who checks the credentials.
struct ListenerAuth: Sendable {
    var offer: AuthOffer
    var withoutTLS: Bool
    var checker: any CredentialChecker

    func apply(to configuration: inout SessionConfiguration) {
        configuration.authOffer = offer
        configuration.authWithoutTLS = withoutTLS
    }

    /// The listener's `auth`/`auth-optional [<table>]`, `auth-accept-any`, `auth-plaintext`.
    static func load(_ directive: ListenDirective, configuration: SMTPConfiguration, log: LogSink)
        throws(ServerError) -> ListenerAuth?
    {
        let offer: AuthOffer
        let ref: TableRef?
        switch directive.auth {
        case .none: return nil
        case .required(let table):
            offer = .required
            ref = table
        case .optional(let table):
            offer = .optional
            ref = table
        }
        let checker: any CredentialChecker
        if directive.authAcceptAny {
            checker = AnyCredentials()
        } else if let ref {
            let loaded = try LoadedTable.resolve(
                ref, in: configuration, user: "listen on \(directive.target)",
                location: directive.location.description)
            checker = CredentialTable(hashes: loaded.mapping, warn: { log.write($0) })
        } else {
            checker = SystemCredentials()
        }
        return ListenerAuth(offer: offer, withoutTLS: directive.authWithoutTLS, checker: checker)
    }
}

/// The C string in `buffer`, up to its NUL.
private func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
