import Glibc
import LinuxSystem

/// Everything the client side can fail with, each carrying what it was doing.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed.
    case system(SystemError)
    /// `connect to HOST port PORT` failed (refused, no route, …).
    case connect(host: String, port: UInt16, errno: Int32)
    /// The host name did not resolve.
    case resolve(host: String, message: String)
    /// `/run/netns/NAME` does not exist.
    case unknownNamespace(String)
    /// Entering an existing namespace failed (setns, thread creation).
    case namespace(String, message: String)
    /// Nothing arrived (or could be sent) within the time allowed.
    case timeout(String, seconds: Double)
    /// The peer closed the connection while a reply was expected.
    case closed(String)
    /// A line from the server was longer than the limit.
    case lineTooLong(limit: Int)
    /// The server's reply was malformed.
    case reply(ReplyError)

    public var description: String {
        switch self {
        case .system(let error): error.description
        case .connect(let host, let port, let code):
            "connect to \(host) port \(port) (tcp) failed: \(errorText(code))"
        case .resolve(let host, let message): "cannot resolve \(host): \(message)"
        case .unknownNamespace(let name):
            "unknown namespace \(name) (no /run/netns/\(name); see mlab netns list)"
        case .namespace(let name, let message): "cannot enter namespace \(name): \(message)"
        case .timeout(let what, let seconds): "timeout after \(formatSeconds(seconds)) s \(what)"
        case .closed(let what): "connection closed by the server \(what)"
        case .lineTooLong(let limit): "line from the server longer than \(limit) bytes"
        case .reply(let error): error.description
        }
    }
}

func errorText(_ code: Int32) -> String { SystemError.text(code) }

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
