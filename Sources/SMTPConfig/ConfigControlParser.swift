/// MailLab's `control` statements (OpenSMTPD's control socket is fixed at build time and has
/// none; docs/SMTPCTL.md):
///
///     control socket "/run/smtpd-lab.sock"
///     control group smtpctl
///
/// Without `control socket`, smtpd serves `/var/run/smtpd.sock` as OpenSMTPD does; without
/// `control group`, only root may use it (mode 0600; with a group, `root:GROUP 0660`).
extension ConfigParser {
    mutating func control() throws {
        let keyword = advance()
        if accept("socket") {
            let token = peek()
            let path = try parseString("a socket path")
            guard path.hasPrefix("/") else {
                throw fail("control socket \(path): must be an absolute path", at: token)
            }
            guard path.utf8.count <= 107 else {
                throw fail(
                    "control socket \(path): longer than 107 bytes (the limit of a unix socket path)",
                    at: token)
            }
            guard config.controlSocket == nil else {
                throw fail("control socket given twice", at: keyword)
            }
            config.controlSocket = path
        } else if accept("group") {
            let token = peek()
            let name = try parseString("a group name")
            guard config.controlGroup == nil else {
                throw fail("control group given twice", at: keyword)
            }
            config.controlGroup = name
            config.controlGroupLocation = location(token)
        } else {
            throw unexpected(peek(), expected: "socket or group")
        }
    }
}
