import ControlClient
import ControlProtocol

/// What `mlab lab status` says about a running smtpd's queue, asked over its control socket
/// (the one `smtpctl -s PATH` uses).
enum ControlSummary {
    /// `smtpctl -s PATH: queue 3 envelopes`, `…: no relay queue`, or why smtpd did not answer.
    static func queueLine(socket: String) -> String {
        let prefix = "smtpctl -s \(socket): "
        do {
            switch try ControlClient(path: socket, timeout: 2).send(.showQueue) {
            case .lines(let lines):
                return prefix + "queue \(lines.count) envelope\(lines.count == 1 ? "" : "s")"
            case .failed(let reason) where reason.hasPrefix("no relay queue"):
                return prefix + "no relay queue"
            case .failed(let reason):
                return prefix + reason
            case .succeeded, .count:
                return prefix + "unexpected answer to show queue"
            }
        } catch {
            return prefix + "\(error)"
        }
    }
}
