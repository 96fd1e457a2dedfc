/// What `smtpd -h` prints on standard output: the version, OpenSMTPD's usage line and one
/// entry per flag. OpenSMTPD 6.8 prints only the version and the usage line, on stderr, and
/// exits 1; we print a page and exit 0, as `--help` does elsewhere. A wrong flag keeps
/// OpenSMTPD's behaviour: the usage line on stderr, exit 1.
enum HelpText {
    /// One line per flag, in the usage line's order. `-N` and the handling of `-P` are
    /// MailLab's own and say so.
    static let flags: [(flag: String, text: String)] = [
        ("-d", "Do not daemonize: stay in the foreground and log to standard error."),
        ("-F", "Do not daemonize: stay in the foreground and log to syslog."),
        ("-h", "Print this help on standard output and exit 0."),
        (
            "-n",
            "Check the configuration only: print \"configuration OK\" and exit 0, or every error as FILE:LINE: and exit 1."
        ),
        ("-v", "Verbose: add debug lines to the log."),
        ("-D macro=value", "Define a macro, overriding a definition of the same name in the file."),
        ("-f file", "Read the configuration from file (default: /etc/smtpd.conf)."),
        (
            "-N netns",
            "MailLab: serve inside the named network namespace (ip netns NAME), entered before any thread starts; its /etc/netns/NAME/* files (resolv.conf) replace /etc/* for smtpd, as with ip netns exec."
        ),
        (
            "-s socket",
            "MailLab: serve smtpctl on this unix socket (default: the file's control socket, else /var/run/smtpd.sock)."
        ),
        (
            "-P system",
            "Accepted for OpenSMTPD compatibility (start with smtp, mta or mda paused); MailLab has nothing to pause and warns."
        ),
        (
            "-T trace",
            "Trace a category; repeatable. MailLab implements smtp (and all): every command and reply, state changes. Other OpenSMTPD categories are accepted; unknown ones warn."
        ),
    ]

    /// The whole page, ending with a newline.
    static func page(version: String, usage: String) -> String {
        let width = flags.map(\.flag.count).max() ?? 0
        var text = "version: \(version)\n\(usage)\n\noptions:\n"
        for (flag, explanation) in flags {
            text +=
                "  " + flag + String(repeating: " ", count: width - flag.count) + "  "
                + explanation + "\n"
        }
        text += "\nSIGINT or SIGTERM stop the server after the deliveries in flight are answered.\n"
        return text
    }
}
