import Glibc
import SMTPConfig
import SMTPServer

/// Starts the control socket for smtpctl after the listeners: `-s`, else the file's `control
/// socket`, else OpenSMTPD's /var/run/smtpd.sock. A socket named on the command line or in
/// the file that cannot be served stops smtpd, as OpenSMTPD's `control socket already
/// listening` does. Departure: the default one only warns, so that several smtpds (tests,
/// labs) can run side by side; the second is then not controllable and says so.
enum ControlStart {
    /// `smtpd -n`: the control group must exist (`FILE:LINE: control group NAME: no such
    /// group`).
    static func problems(_ configuration: SMTPConfiguration) -> [String] {
        guard let name = configuration.controlGroup else { return [] }
        do {
            _ = try ControlSettings.groupID(named: name)
            return []
        } catch {
            let place = configuration.controlGroupLocation.map { "\($0): " } ?? ""
            return [place + error.description]
        }
    }

    static func start(
        _ server: MailServer, configuration: SMTPConfiguration, arguments: Arguments,
        log: LogSink
    ) {
        opening(configuration: configuration, arguments: arguments, log: log) { settings in
            var settings = settings
            settings.queue = server.queueControl
            try server.startControl(settings)
            log.write("info: control socket \(settings.path)")
        } stop: {
            server.stop(graceSeconds: 0)
        }
    }

    /// The split's parent binds the socket the network side serves, with `start`'s rules:
    /// a socket named on the command line or in the file that cannot be bound stops smtpd.
    static func open(
        _ side: DeliverySide, configuration: SMTPConfiguration, arguments: Arguments,
        log: LogSink
    ) {
        opening(configuration: configuration, arguments: arguments, log: log) { settings in
            try side.openControl(settings)
        } stop: {
            side.stop()
        }
    }

    /// The control socket's settings from the command line and the file, handed to `open`:
    /// a failure with the default path only warns; with a path or group the administrator
    /// chose, `stop` runs and smtpd exits.
    private static func opening(
        configuration: SMTPConfiguration, arguments: Arguments, log: LogSink,
        _ open: (ControlSettings) throws -> Void, stop: () -> Void
    ) {
        let chosen = arguments.controlSocket ?? configuration.controlSocket
        var settings = ControlSettings(path: chosen ?? ControlSettings.defaultPath)
        do {
            if let name = configuration.controlGroup {
                do {
                    settings.group = try ControlSettings.groupID(named: name)
                } catch {
                    let place = configuration.controlGroupLocation.map { "\($0): " } ?? ""
                    throw ServerError(place + error.description)
                }
            }
            try open(settings)
        } catch {
            if chosen == nil && configuration.controlGroup == nil {
                log.write("warn: \(error); smtpctl cannot reach this smtpd")
                return
            }
            log.write("fatal: \(error)")
            stop()
            SMTPD.printError("smtpd: \(error)")
            exit(1)
        }
    }
}
