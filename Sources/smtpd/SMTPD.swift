import CSystem
import Glibc
import LinuxSystem
import MailLabVersion
import Namespaces
import SMTPConfig
import SMTPServer

/// smtpd: MailLab's SMTP server with OpenSMTPD's command line. Parses the config, enters the
/// requested network namespace before any thread exists, starts the server, and waits for
/// SIGINT/SIGTERM to stop it gracefully (deliveries in flight are finished and answered).
/// SIGHUP re-reads the file's `fault …` statements (MailLab fault injection).
@main
enum SMTPD {
    static let version = MailLabVersion.banner(of: "smtpd")

    static func main() {
        // The network side of the process split, started by its root parent: die with it.
        var handover: NetworkSide.Handover?
        if let value = getenv(NetworkSide.environmentName).map({ String(cString: $0) }) {
            guard let decoded = NetworkSide.decode(value) else {
                printError("smtpd: \(NetworkSide.environmentName)=\(value): malformed")
                exit(1)
            }
            do {
                try ProcessPrivileges.endWithParent(decoded.parent)
            } catch {
                printError("smtpd: network side: \(error)")
                exit(1)
            }
            unsetenv(NetworkSide.environmentName)
            handover = decoded
        }
        let arguments: Arguments
        do {
            arguments = try Arguments(Array(CommandLine.arguments.dropFirst()))
        } catch {
            printError(error.message)
            printError(Arguments.usage)
            exit(1)
        }
        if arguments.help {
            // Standard output and exit 0, unlike OpenSMTPD (stderr, exit 1): see HelpText.
            let page = HelpText.page(version: version, usage: Arguments.usage)
            try? FileSystem.writeAll(1, [Array(page.utf8)], path: "standard output")
            exit(0)
        }
        for warning in arguments.warnings { printError(warning) }

        // setns changes only the calling thread; threads started later inherit it, so enter
        // now, while the main thread is the only one.
        if let namespace = arguments.namespace, handover == nil {
            do {
                try NetworkNamespace.enterOnCurrentThread(name: namespace)
                // Its /etc/netns/NAME/resolv.conf too, as `ip netns exec` would: the relay's
                // MX lookups ask the namespace's name servers, never the host's.
                try NetworkNamespace.bindEtcFiles(of: namespace)
            } catch {
                printError("smtpd: -N \(namespace): \(error)")
                exit(1)
            }
        }

        let configuration: SMTPConfiguration
        do {
            configuration = try SMTPConfiguration.load(
                path: arguments.configPath, macros: arguments.macros)
        } catch {
            printError(error.description)
            exit(1)
        }

        var options = MailServer.Options()
        options.trace = arguments.traceSMTP
        options.verbose = arguments.verbose
        options.recordsMessages = false
        if arguments.checkOnly {
            let problems =
                MailServer.validate(configuration, options: options).map(\.description)
                + ControlStart.problems(configuration)
            guard problems.isEmpty else {
                for problem in problems { printError(problem) }
                exit(1)
            }
            printError("configuration OK")
            exit(0)
        }

        if !arguments.foreground && !arguments.foregroundSyslog && handover == nil {
            // Like OpenSMTPD: without -d or -F, go to the background and log to syslog.
            guard csystem_daemon(1, 0) == 0 else {
                printError("smtpd: daemon: \(String(cString: strerror(errno)))")
                exit(1)
            }
        }
        options.log = arguments.foreground ? .standardError : .syslog
        options.mailExchangers = MailExchangerResolution(
            namespace: arguments.namespace, log: options.log)

        // Signals are taken by sigwait on this thread; block them before any thread starts.
        signal(SIGPIPE, SIG_IGN)
        var signals = sigset_t()
        // SIGCHLD: the split's parent learns of its network side's end.
        let wanted: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGCHLD]
        wanted.withUnsafeBufferPointer {
            csystem_block_signals($0.baseAddress, Int32($0.count), &signals)
        }

        if let handover {
            SplitStart.runNetworkSide(
                configuration, options: options, arguments: arguments, handover: handover,
                signals: &signals)
        }
        options.log.write("info: \(version) starting")
        if SplitStart.wanted(configuration, options: options) {
            SplitStart.runParent(
                configuration, options: options, arguments: arguments, signals: &signals)
        }
        let server: MailServer
        do {
            server = try MailServer(configuration: configuration, options: options)
            try server.start()
        } catch {
            for line in error.description.split(separator: "\n") {
                options.log.write("fatal: \(line)")
            }
            if !arguments.foreground {
                for line in error.description.split(separator: "\n") { printError(String(line)) }
            }
            exit(1)
        }
        ControlStart.start(
            server, configuration: configuration, arguments: arguments, log: options.log)
        do {
            try Readiness.notifySupervisor()
        } catch {
            options.log.write("warn: cannot tell the supervisor we are ready: \(error)")
        }

        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            if received == SIGHUP {
                FaultReload.reload(server, arguments: arguments, log: options.log)
                continue
            }
            if received == SIGCHLD { continue }
            options.log.write("info: received signal \(received), stopping")
            break
        }
        server.stop()
        options.log.write("Exiting")
        exit(0)
    }

    static func printError(_ line: String) {
        LogSink.standardError.write(line)
    }
}
