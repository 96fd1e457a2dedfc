import ControlProtocol
import Glibc
import LinuxSystem
import Reactor

/// One smtpctl connection on the loop that accepted it: frames in, one response frame per
/// request out. The peer's credentials are checked once, at accept: a refused peer gets one
/// `fail` frame saying why, and the connection is closed.
final class ControlConnection: ConnectionHandler {
    private let service: ControlService
    private let peer: ControlPeer
    private let allowed: Bool
    private var decoder = ControlFrameDecoder()
    /// An idle smtpctl connection is closed after this long.
    static let idleTimeoutNanoseconds: UInt64 = 60_000_000_000

    private init(service: ControlService, peer: ControlPeer, allowed: Bool) {
        self.service = service
        self.peer = peer
        self.allowed = allowed
    }

    static func accept(fd: Int32, loop: EventLoop, group: gid_t?, service: ControlService) {
        let peer: ControlPeer
        do {
            peer = try ControlPeer.of(fd)
        } catch {
            service.log("warn: control: \(error)")
            closeDescriptor(fd)
            return
        }
        let address = SocketAddress.unix(path: "")
        let connection = Connection(fd: fd, peer: address, local: address, loop: loop)
        let allowed = peer.isAllowed(group: group)
        let handler = ControlConnection(service: service, peer: peer, allowed: allowed)
        do {
            try connection.start(handler: handler, idleTimeoutNanoseconds: idleTimeoutNanoseconds)
        } catch {
            service.log("warn: control: \(error)")
            return
        }
        service.opened()
        guard allowed else {
            let who = group.map { "neither root nor a member of group \($0)" } ?? "not root"
            let reason = "permission denied: uid \(peer.uid) is \(who)"
            service.log("warn: control: refused uid=\(peer.uid) pid=\(peer.pid): \(reason)")
            connection.write(ControlFrame.encode(ControlResponse.failed(reason).encoded()))
            connection.close(afterFlush: true)
            return
        }
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        guard allowed else { return }
        let frames: [[UInt8]]
        do {
            frames = try decoder.feed(bytes)
        } catch {
            connection.write(ControlFrame.encode(ControlResponse.failed("\(error)").encoded()))
            connection.close(afterFlush: true)
            return
        }
        // XXX: requests run on the loop, between SMTP sessions' events: `QueueControl` is
        // expected to hold its locks briefly (a snapshot, a flag). A queue whose calls could
        // block would need a hop off the loop here.
        for frame in frames {
            let response: ControlResponse
            do {
                response = service.handle(try ControlRequest(decoding: frame), from: peer)
            } catch {
                response = .failed("\(error)")
            }
            connection.write(ControlFrame.encode(response.encoded()))
        }
    }

    func inputEnded(on connection: Connection) { connection.close(afterFlush: true) }
    func idle(_ connection: Connection) { connection.close(afterFlush: false) }
    func closed(_ connection: Connection) { service.closed() }
}
