import ArgumentParser
import Glibc
import SMTPClient

extension SendStage: ExpressibleByArgument {}

/// `mlab send`: one message, swaks-style, with the transcript.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one message and show the SMTP transcript, like swaks.",
        discussion: """
            Exit status as swaks: 0 sent, 2 connection failed, 21 banner, 22 EHLO/HELO, \
            23 MAIL, 24 no recipient accepted, 25 DATA, 26 message refused after the dot, \
            28 AUTH not offered or refused.
            """)

    @Option(help: "Server to connect to.") var server = "127.0.0.1"
    @Option(help: "Port.") var port: UInt16 = 25
    @Option(help: "Envelope sender and From: header (default: root@HOSTNAME).") var from: String?
    @Option(help: "Recipient (repeat for several).") var to: [String] = []
    @Option(help: "Subject: header (default: test DATE).") var subject: String?
    @Option(help: "Message body text.") var body: String?
    @Option(help: "Send this file as the whole message (headers included), dot-stuffed.")
    var data: String?
    @Option(help: "Name given in EHLO/HELO (default: the host name).") var ehlo: String?
    @Option(name: .customLong("netns"), help: "Connect from inside this named namespace.")
    var namespace: String?
    @Option(
        help: "Stop after this stage: connect, banner, ehlo, mail, rcpt, data (drop in DATA), dot."
    )
    var quitAfter: SendStage = .dot
    @Option(help: "Seconds allowed per reply.") var timeout: Double = 30
    @Option(help: "AUTH PLAIN as USER:PASS after EHLO (USER alone: an empty password).")
    var auth: String?
    @Flag(help: "Send MAIL FROM with the SMTPUTF8 parameter (UTF-8 addresses).")
    var smtputf8 = false
    @Option(
        name: .customLong("bdat"),
        help: "Send the message with BDAT in chunks of this many bytes instead of DATA.")
    var bdat: Int?

    func validate() throws {
        if to.isEmpty { throw ValidationError("name at least one --to recipient") }
        if body != nil && data != nil {
            throw ValidationError("--body and --data exclude each other")
        }
        if timeout <= 0 { throw ValidationError("--timeout needs a positive number of seconds") }
        if let bdat, bdat <= 0 { throw ValidationError("--bdat needs a positive chunk size") }
        if let auth, auth.isEmpty || auth.hasPrefix(":") {
            throw ValidationError("--auth needs USER[:PASS]")
        }
    }

    func run() throws {
        let host = MessageComposer.hostname()
        var options = SendOptions(from: from ?? "root@\(host)", to: to, ehlo: ehlo ?? host)
        options.server = server
        options.port = port
        options.namespace = namespace
        options.subject = subject
        if let body { options.body = body.replacingEscapedNewlines() }
        if let data { options.data = Array(try readTextFile(data).utf8) }
        options.quitAfter = quitAfter
        options.timeout = timeout
        if let auth {
            let parts = auth.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            options.auth = (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        options.smtputf8 = smtputf8
        options.bdatChunkSize = bdat
        let status = SMTPSend.run(options) { writeToStandardOutput($0 + "\n") }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}

extension String {
    /// swaks reads `\n` in --body as a line break.
    fileprivate func replacingEscapedNewlines() -> String {
        var out = ""
        var iterator = makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else {
                out.append(character)
                continue
            }
            if let next = iterator.next() {
                if next == "n" {
                    out.append("\n")
                } else {
                    out.append(character)
                    out.append(next)
                }
            } else {
                out.append(character)
            }
        }
        return out
    }
}
