import Glibc
import LinuxSystem
import SMTPConfig
import SMTPServer

/// The process split (docs/PRIVILEGES.md): a root smtpd stays root only in a parent that
/// binds, delivers and supervises; its network side runs as `_maillab`.
enum SplitStart {
    /// At most this many deaths of the network side within `deathWindow` seconds: one
    /// more and smtpd exits (a child that dies at once would spin).
    static let maximumDeaths = 5
    static let deathWindow = 60.0
    /// How long a stopping parent waits for the network side to answer its deliveries.
    static let stopGraceSeconds = 40.0

    /// Whether this smtpd splits: root, and not `MAILLAB_NO_SPLIT=1`.
    static func wanted(_ configuration: SMTPConfiguration, options: MailServer.Options) -> Bool {
        guard geteuid() == 0 else { return false }
        if let value = getenv(NetworkSide.noSplitName), String(cString: value) == "1" {
            options.log.write(
                "info: \(NetworkSide.noSplitName)=1: one process, the network side keeps root")
            return false
        }
        return true
    }

    /// The root parent: binds, starts the network side, restarts it when it dies, passes
    /// SIGHUP's fault rules on, and on SIGINT/SIGTERM stops it and then itself.
    static func runParent(
        _ configuration: SMTPConfiguration, options: MailServer.Options, arguments: Arguments,
        signals: inout sigset_t
    ) -> Never {
        let log = options.log
        let side: DeliverySide
        do {
            side = try DeliverySide(configuration: configuration, options: options)
        } catch {
            fatal(error.description, log: log, arguments: arguments)
        }
        ControlStart.open(side, configuration: configuration, arguments: arguments, log: log)
        var child = start(side, log: log, arguments: arguments)
        do {
            try Readiness.notifySupervisor()
        } catch {
            log.write("warn: cannot tell the supervisor we are ready: \(error)")
        }
        var deaths: [Double] = []
        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            switch received {
            case SIGCHLD:
                var status: Int32 = 0
                var died = false
                while true {
                    let reaped = waitpid(-1, &status, WNOHANG)
                    if reaped <= 0 { break }
                    if reaped == child { died = true }
                }
                guard died else { continue }
                let now = Clock.monotonicSeconds()
                deaths.append(now)
                deaths.removeAll { now - $0 > deathWindow }
                log.write("warn: network side (pid \(child)) \(describe(status))")
                if deaths.count > maximumDeaths {
                    log.write(
                        "fatal: the network side died \(deaths.count) times within "
                            + "\(Int(deathWindow)) s; exiting")
                    side.stop()
                    exit(1)
                }
                child = start(side, log: log, arguments: arguments)
            case SIGHUP:
                if let reloaded = FaultReload.reloaded(arguments: arguments, log: log) {
                    side.replaceFaults(MailServer.faultPlan(reloaded))
                }
            default:
                log.write("info: received signal \(received), stopping")
                stop(child, side: side)
                log.write("Exiting")
                exit(0)
            }
        }
    }

    private static func start(_ side: DeliverySide, log: LogSink, arguments: Arguments) -> pid_t {
        do {
            let pid = try side.spawn(arguments: CommandLine.arguments)
            log.write("info: network side started (pid \(pid), user \(side.networkUser))")
            return pid
        } catch {
            side.stop()
            fatal(error.description, log: log, arguments: arguments)
        }
    }

    /// SIGTERM to the network side, which answers its deliveries and ends; SIGKILL if it has
    /// not within the grace time. Then the parent's own end.
    private static func stop(_ child: pid_t, side: DeliverySide) {
        Glibc.kill(child, SIGTERM)
        let deadline = Clock.monotonicSeconds() + stopGraceSeconds
        var status: Int32 = 0
        while waitpid(child, &status, WNOHANG) == 0 {
            if Clock.monotonicSeconds() > deadline {
                Glibc.kill(child, SIGKILL)
                _ = waitpid(child, &status, 0)
                break
            }
            Clock.sleep(seconds: 0.01)
        }
        side.stop()
    }

    private static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "was killed by signal \(signal)"
    }

    static func fatal(_ text: String, log: LogSink, arguments: Arguments) -> Never {
        for line in text.split(separator: "\n") { log.write("fatal: \(line)") }
        if !arguments.foreground {
            for line in text.split(separator: "\n") { SMTPD.printError(String(line)) }
        }
        exit(1)
    }

    /// The network side (this process, started by `runParent` with `MAILLAB_NETWORK_SIDE`):
    /// the server on the parent's sockets, as `_maillab`, until SIGINT/SIGTERM.
    static func runNetworkSide(
        _ configuration: SMTPConfiguration, options: MailServer.Options, arguments: Arguments,
        handover: NetworkSide.Handover,
        signals: inout sigset_t
    ) -> Never {
        let log = options.log
        var options = options
        let user: SystemUser
        do {
            user = try UnprivilegedUser.lookUp()
        } catch {
            fatal("network side: \(error)", log: log, arguments: arguments)
        }
        options.networkSide = NetworkSide(
            listeners: handover.listeners, control: handover.control, store: handover.store,
            spool: handover.spool, user: user,
            lost: {
                // Nothing received from now on could be acknowledged.
                log.write("fatal: network side: the delivery side is gone; exiting")
                _exit(1)
            })
        let server: MailServer
        do {
            server = try MailServer(configuration: configuration, options: options)
            try server.start()
        } catch {
            fatal(error.description, log: log, arguments: arguments)
        }
        if handover.control != nil {
            ControlStart.start(
                server, configuration: configuration, arguments: arguments, log: log)
        }
        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            // SIGHUP is the parent's: it reads the file and sends the fault rules.
            if received == SIGHUP || received == SIGCHLD { continue }
            break
        }
        server.stop()
        exit(0)
    }
}
