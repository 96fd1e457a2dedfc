import ArgumentParser
import ControlProtocol
import LinuxSystem

/// The one thing `load` and `clear` act on.
enum FaultsWord: String, ExpressibleByArgument, CaseIterable {
    case faults
}

/// `smtpctl load faults FILE` (MailLab).
struct LoadVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Replace smtpd's fault rules with the fault statements of FILE.",
        discussion: """
            Sessions that begin afterwards get the new rules; sessions already running keep \
            theirs. FILE holds smtpd.conf fault statements only (docs/FAULTS.md); smtpctl \
            reads it and smtpd checks it, errors as FILE:LINE.
            """)
    @Argument(help: "faults.") var word: FaultsWord
    @Argument(help: "A file of fault statements.") var file: String
    @OptionGroup var socket: SocketOption

    func run() throws {
        let text: String
        do {
            text = String(decoding: try FileSystem.readFile(file, limit: 1 << 20), as: UTF8.self)
        } catch {
            printError("smtpctl: \(error)")
            throw ExitCode(1)
        }
        try socket.run(.loadFaults(name: file, text: text))
    }
}

/// `smtpctl clear faults` (MailLab).
struct ClearVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear", abstract: "No fault rules for sessions that begin afterwards.")
    @Argument(help: "faults.") var word: FaultsWord
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.clearFaults) }
}
