import Glibc
import LinuxSystem
import SMTPConfig
import SMTPProtocol

/// What smtpd's network side (the child of the process split, docs/PRIVILEGES.md) is given
/// by its root parent: the sockets the parent bound, its end of the socket pair to the
/// delivery side, and the user to become. `MailServer` with `Options.networkSide` adopts the
/// listeners instead of binding, stores through the delivery side (`RemoteStore`), asks it
/// for system-user AUTH, and drops to `user` once its TLS keys and tables are read, before
/// it starts a thread.
public struct NetworkSide: Sendable {
    /// Listening sockets, in the order of the configuration's listeners.
    public var listeners: [Int32]
    /// The control socket the parent bound; nil: none.
    public var control: Int32?
    /// This side's end of the socket pair.
    public var store: Int32
    /// The relay queue's spool folder, opened by the parent (the network side may not
    /// search the folders above it); nil: the configuration does not relay.
    public var spool: Int32?
    /// Whom to become (`UnprivilegedUser.lookUp()`).
    public var user: SystemUser
    /// Runs once the delivery side is gone (on a reading thread): the network side ends, as
    /// nothing it receives can be acknowledged any more.
    public var lost: @Sendable () -> Void

    public init(
        listeners: [Int32], control: Int32?, store: Int32, spool: Int32? = nil, user: SystemUser,
        lost: @escaping @Sendable () -> Void
    ) {
        self.listeners = listeners
        self.control = control
        self.store = store
        self.spool = spool
        self.user = user
        self.lost = lost
    }

    /// The environment variable that carries `encoded` from the parent to the child it
    /// starts (the descriptors by number, the parent's pid).
    public static let environmentName = "MAILLAB_NETWORK_SIDE"

    /// `MAILLAB_NO_SPLIT=1`: a root smtpd stays one process (debugging; docs/PRIVILEGES.md).
    public static let noSplitName = "MAILLAB_NO_SPLIT"

    /// The parent's `MAILLAB_NETWORK_SIDE` value: `PPID STORE CONTROL SPOOL L1,L2,…`
    /// (CONTROL and SPOOL -1 for none).
    static func encode(
        parent: pid_t, store: Int32, control: Int32?, spool: Int32?, listeners: [Int32]
    ) -> String {
        "\(parent) \(store) \(control ?? -1) \(spool ?? -1) "
            + listeners.map(String.init).joined(separator: ",")
    }

    /// What the parent hands over, by descriptor number.
    public struct Handover: Sendable, Equatable {
        public var parent: pid_t
        public var store: Int32
        public var control: Int32?
        public var spool: Int32?
        public var listeners: [Int32]
    }

    /// The child's reading of it: nil if malformed.
    public static func decode(_ value: String) -> Handover? {
        let words = value.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 5, let parent = pid_t(words[0]), let store = Int32(words[1]),
            let control = Int32(words[2]), let spool = Int32(words[3])
        else { return nil }
        var listeners: [Int32] = []
        for word in words[4].split(separator: ",") {
            guard let fd = Int32(word) else { return nil }
            listeners.append(fd)
        }
        return Handover(
            parent: parent, store: store, control: control >= 0 ? control : nil,
            spool: spool >= 0 ? spool : nil, listeners: listeners)
    }
}

/// `listen … auth` with the system's users, on the network side: the parent reads the
/// shadow file and answers (an AUTH record).
struct RemoteCredentials: CredentialChecker {
    let client: SplitClient
    func check(_ request: AuthenticationRequest) -> SMTPSession.AuthenticationResult {
        switch client.authenticate(user: request.user, password: request.password) {
        case .accepted: .accepted
        case .rejected: .rejected
        case .temporaryFailure: .temporaryFailure
        }
    }
}

/// Free space for `SIZE=` on the network side, which may not search the Maildirs' folders:
/// folders opened as root before the drop (O_PATH: no reading their entries), asked with
/// fstatvfs.
struct OpenedStorage: Sendable {
    let descriptors: [Int32]

    /// The nearest existing folder of each root, opened now.
    init(roots: [String]) {
        var opened: [Int32] = []
        for root in roots {
            var path = root
            while true {
                // O_PATH: good for fstatvfs, not for reading the folder's entries.
                if let fd = try? FileSystem.open(
                    path, FileSystem.pathOnly | O_DIRECTORY | O_CLOEXEC)
                {
                    opened.append(fd)
                    break
                }
                guard let slash = path.lastIndex(of: "/"), path != "/" else { break }
                path = slash == path.startIndex ? "/" : String(path[..<slash])
            }
        }
        descriptors = opened
    }

    func available() -> Int? {
        var least: Int?
        for fd in descriptors {
            var info = statvfs()
            guard fstatvfs(fd, &info) == 0 else { continue }
            let (bytes, overflow) = Int(clamping: info.f_bavail).multipliedReportingOverflow(
                by: Int(clamping: info.f_frsize))
            least = min(least ?? Int.max, overflow ? Int.max : bytes)
        }
        return least
    }
}
