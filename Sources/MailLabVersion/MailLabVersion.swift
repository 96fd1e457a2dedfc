/// MailLab's version: the one place `smtpd -h`, `smtpd`'s start-up log line, `mlab --version`
/// and `smtpctl --version` take it from.
public enum MailLabVersion {
    /// The release number.
    public static let number = "0.1"

    /// What `program` (`smtpd`, `mlab`, `smtpctl`) calls itself: `MailLab smtpd 0.1`.
    public static func banner(of program: String) -> String { "MailLab \(program) \(number)" }
}
