import ArgumentParser
import Glibc
import MailLabVersion

/// `smtpctl`: OpenSMTPD's control program for MailLab's smtpd, over its control socket
/// (`-s PATH`, default /var/run/smtpd.sock). One file per verb; the work is in
/// ControlClient (talking to smtpd) and ControlProtocol (requests, OpenSMTPD's texts).
@main
struct SMTPCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpctl",
        abstract: "Control a running MailLab smtpd (OpenSMTPD's smtpctl verbs).",
        version: MailLabVersion.banner(of: "smtpctl"),
        subcommands: [
            ShowVerb.self, ScheduleVerb.self, RemoveVerb.self, PauseVerb.self, ResumeVerb.self,
            LogVerb.self, TraceVerb.self, UntraceVerb.self, LoadVerb.self, ClearVerb.self,
            EncryptVerb.self,
        ])

    /// `smtpctl -s PATH VERB …` is taken as well as `smtpctl VERB … -s PATH`: the option
    /// belongs to the verbs, so it moves behind the verb before parsing.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        var arguments = Array(CommandLine.arguments.dropFirst())
        var moved: [String] = []
        if arguments.count >= 2, arguments[0] == "-s" || arguments[0] == "--socket" {
            moved = Array(arguments[0...1])
            arguments.removeFirst(2)
        } else if let first = arguments.first, first.hasPrefix("-s"), first.count > 2 {
            moved = [first]
            arguments.removeFirst()
        }
        arguments = Abbreviations.expand(arguments)
        // encrypt talks to no smtpd: a socket given before it is ignored.
        if arguments.first != "encrypt" { arguments += moved }
        main(arguments)
    }
}
