import ArgumentParser
import ControlClient
import ControlProtocol
import Glibc
import LinuxSystem

/// `-s PATH`: the control socket (MailLab's addition; OpenSMTPD's smtpctl has only the
/// compiled-in path).
struct SocketOption: ParsableArguments {
    @Option(
        name: [.customShort("s"), .customLong("socket")],
        help: "smtpd's control socket (default: /var/run/smtpd.sock).")
    var path = "/var/run/smtpd.sock"

    /// Sends `request`, prints smtpd's answer as OpenSMTPD's smtpctl does and exits with
    /// its status (1 for `command failed`).
    func run(_ request: ControlRequest) throws {
        let response: ControlResponse
        do {
            response = try ControlClient(path: path).send(request)
        } catch {
            printError("smtpctl: \(error)")
            throw ExitCode(1)
        }
        let (text, status) = response.output(for: request)
        printOut(text)
        if status != 0 { throw ExitCode(status) }
    }
}

func printOut(_ text: String) {
    try? FileSystem.writeAll(1, [Array(text.utf8)], path: "standard output")
}

func printError(_ line: String) {
    try? FileSystem.writeAll(2, [Array((line + "\n").utf8)], path: "standard error")
}

/// `all`, a message id or an envelope id, as a verb's argument.
extension ControlSelector: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
