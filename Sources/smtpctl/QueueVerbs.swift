import ArgumentParser
import ControlProtocol

/// `smtpctl show queue|stats|faults`.
struct ShowVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the queue (OpenSMTPD's format), the counters, or the fault rules.",
        discussion: """
            queue: one envelope a line, ID|SRC|AGENT|FLAGS|SENDER|RCPT|DEST|CREATED|EXPIRES|\
            LASTTRY|RETRIES|RUNSTATE|ERROR. stats: name=value lines. faults (MailLab): the \
            fault rules new sessions get, as fault statements.
            """)

    enum What: String, ExpressibleByArgument, CaseIterable {
        case queue, stats, faults
    }

    @Argument(help: "queue, stats or faults.") var what: What
    @OptionGroup var socket: SocketOption

    func run() throws {
        switch what {
        case .queue: try socket.run(.showQueue)
        case .stats: try socket.run(.showStats)
        case .faults: try socket.run(.showFaults)
        }
    }
}

/// `smtpctl schedule all|ID`.
struct ScheduleVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract:
            "Make queued envelopes due now: all, a message (8 hex digits) or an envelope (16).")
    @Argument(help: "all, a message id or an envelope id.") var selector: ControlSelector
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.schedule(selector)) }
}

/// `smtpctl remove all|ID`.
struct RemoveVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove queued envelopes without a bounce: all, a message or an envelope.")
    @Argument(help: "all, a message id or an envelope id.") var selector: ControlSelector
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.remove(selector)) }
}

/// The one subsystem MailLab pauses and resumes.
enum Subsystem: String, ExpressibleByArgument, CaseIterable {
    case mta
}

/// `smtpctl pause mta`.
struct PauseVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Stop starting deliveries to next hops.")
    @Argument(help: "mta.") var subsystem: Subsystem
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.pauseMTA) }
}

/// `smtpctl resume mta`.
struct ResumeVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Start deliveries to next hops again.")
    @Argument(help: "mta.") var subsystem: Subsystem
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.resumeMTA) }
}

/// The one subsystem MailLab traces.
enum TraceSubsystem: String, ExpressibleByArgument, CaseIterable {
    case smtp
}

/// `smtpctl trace smtp`.
struct TraceVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace the SMTP dialogue of sessions that begin afterwards (as smtpd -T smtp).")
    @Argument(help: "smtp.") var subsystem: TraceSubsystem
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.traceSMTP(true)) }
}

/// `smtpctl untrace smtp`.
struct UntraceVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "untrace", abstract: "Stop tracing the SMTP dialogue of new sessions.")
    @Argument(help: "smtp.") var subsystem: TraceSubsystem
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.traceSMTP(false)) }
}

/// `smtpctl log verbose|brief`.
struct LogVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "verbose: smtpd logs debug: lines (as -v); brief: it stops.")
    enum Level: String, ExpressibleByArgument, CaseIterable {
        case verbose, brief
    }
    @Argument(help: "verbose or brief.") var level: Level
    @OptionGroup var socket: SocketOption
    func run() throws { try socket.run(.log(verbose: level == .verbose)) }
}
