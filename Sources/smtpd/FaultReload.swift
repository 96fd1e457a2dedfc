import SMTPConfig
import SMTPServer

/// SIGHUP: the configuration file is read again and its `fault …` statements replace the
/// running server's fault rules for the sessions that begin after it. Nothing else of the
/// file is applied (listeners, tables and rules need a restart), and a file with errors
/// changes nothing: its errors are logged and the old rules stay.
enum FaultReload {
    static func reload(_ server: MailServer, arguments: Arguments, log: LogSink) {
        guard let configuration = reloaded(arguments: arguments, log: log) else { return }
        server.replaceFaults(MailServer.faultPlan(configuration))
    }

    /// The file read again for its fault rules, or nil when it has errors (logged).
    static func reloaded(arguments: Arguments, log: LogSink) -> SMTPConfiguration? {
        let configuration: SMTPConfiguration
        do {
            configuration = try SMTPConfiguration.load(
                path: arguments.configPath, macros: arguments.macros)
        } catch {
            for line in error.description.split(separator: "\n") {
                log.write("warn: SIGHUP: \(line)")
            }
            log.write("warn: SIGHUP: \(arguments.configPath) has errors; fault rules unchanged")
            return nil
        }
        log.write(
            "info: SIGHUP: fault rules reloaded from \(arguments.configPath) (other changes "
                + "need a restart)")
        return configuration
    }
}
