import LinuxSystem

/// The user smtpd's network side runs as once listeners are bound (docs/PRIVILEGES.md): one
/// fixed name, not a setting, so no configuration can make the parser of what strangers send
/// run as a user that owns anything else. `make install` creates it (scripts/install.sh).
public enum UnprivilegedUser {
    /// A system account's name (OpenBSD's `_smtpd`, Debian's `_apt`): the underscore keeps it
    /// apart from every name a mail recipient could have.
    public static let name = "_maillab"

    /// The user `name`, checked as the split needs it: it exists and is not root. Asked by
    /// the root parent before it starts the network side, and by the network side itself.
    public static func lookUp(named name: String = UnprivilegedUser.name) throws(ServerError)
        -> SystemUser
    {
        let found: SystemUser?
        do {
            found = try SystemUser.named(name)
        } catch {
            throw ServerError("unprivileged user \(name): \(error)")
        }
        guard let found else {
            throw ServerError(
                "unprivileged user \(name) does not exist: smtpd runs its network side as "
                    + "\(name); make install creates it, or: useradd --system --user-group "
                    + "--home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \(name)")
        }
        guard found.user != 0, found.group != 0 else {
            throw ServerError(
                "unprivileged user \(name) has uid \(found.user), gid \(found.group): "
                    + "the network side must not run as root")
        }
        return found
    }
}
