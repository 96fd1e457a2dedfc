import CSystem
import Glibc

/// Unix socket pairs and descriptors passed over them (SCM_RIGHTS): how a privileged process
/// hands an unprivileged one a file it opened for it.
public enum DescriptorPassing {
    /// Most descriptors one message carries (the kernel's SCM_MAX_FD).
    public static let maximumDescriptors = 253

    /// A connected pair of unix sockets, close-on-exec: SOCK_SEQPACKET keeps message
    /// boundaries (one sendmsg is one recvmsg) and tells end of file from an empty message.
    /// socketpair(2).
    public static func socketPair(type: Int32 = Int32(SOCK_SEQPACKET.rawValue))
        throws(SystemError) -> (Int32, Int32)
    {
        var fds: [Int32] = [-1, -1]
        _ = try checkedCall("socketpair") {
            socketpair(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
        }
        return (fds[0], fds[1])
    }

    /// Sends `bytes` (at least one: a message of none cannot be told from end of file) with
    /// `descriptors` attached; the caller still owns its copies. sendmsg(2), MSG_NOSIGNAL.
    public static func send(_ socket: Int32, _ bytes: [UInt8], descriptors: [Int32] = [])
        throws(SystemError)
    {
        guard !bytes.isEmpty, descriptors.count <= maximumDescriptors else {
            throw SystemError(
                "sendmsg", "\(bytes.count) bytes, \(descriptors.count) descriptors", errno: EINVAL)
        }
        let sent = try checkedCall("sendmsg") {
            bytes.withUnsafeBytes { raw in
                descriptors.withUnsafeBufferPointer { fds in
                    csystem_send_descriptors(
                        socket, raw.baseAddress, raw.count, fds.baseAddress, Int32(fds.count))
                }
            }
        }
        // A stream socket may take part of it; a datagram is all or nothing.
        guard sent == bytes.count else {
            throw SystemError("sendmsg", "\(sent) of \(bytes.count) bytes", errno: EMSGSIZE)
        }
    }

    /// One message received: its bytes and the descriptors that came with it, now owned by
    /// the caller, close-on-exec (MSG_CMSG_CLOEXEC: no exec between recvmsg and fcntl can
    /// leak them). No bytes and no descriptors is end of file.
    public struct Message: Sendable, Equatable {
        public var bytes: [UInt8]
        public var descriptors: [Int32]
        public var isEndOfFile: Bool { bytes.isEmpty && descriptors.isEmpty }
    }

    /// Receives one message of at most `maximumBytes` with room for `maximumDescriptors`.
    /// A message cut short, of its bytes (MSG_TRUNC) or of its descriptors (MSG_CTRUNC: the
    /// kernel dropped those that did not fit), throws EMSGSIZE after closing every descriptor
    /// that did arrive: a half message must not be acted on. recvmsg(2).
    public static func receive(
        _ socket: Int32, maximumBytes: Int, maximumDescriptors: Int = 1
    ) throws(SystemError) -> Message {
        guard maximumBytes > 0, (0...Self.maximumDescriptors).contains(maximumDescriptors) else {
            throw SystemError(
                "recvmsg", "room for \(maximumDescriptors) descriptors", errno: EINVAL)
        }
        var fds = [Int32](repeating: -1, count: max(maximumDescriptors, 1))
        var count: Int32 = 0
        var flags: Int32 = 0
        var failure: SystemError?
        // Not zeroed first: a round trip of the process split receives a few dozen bytes
        // into room for 64 KiB, twice per message on each side.
        let bytes = [UInt8](unsafeUninitializedCapacity: maximumBytes) { raw, initialized in
            initialized = 0
            do throws(SystemError) {
                let received = try checkedCall("recvmsg") {
                    fds.withUnsafeMutableBufferPointer { room in
                        csystem_receive_descriptors(
                            socket, raw.baseAddress, raw.count, room.baseAddress,
                            Int32(maximumDescriptors), &count, &flags)
                    }
                }
                initialized = received
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        let descriptors = Array(fds.prefix(Int(count)))
        let truncated = flags & Int32(MSG_CTRUNC) != 0 || flags & Int32(MSG_TRUNC) != 0
        if truncated {
            for fd in descriptors { closeDescriptor(fd) }
            let what = flags & Int32(MSG_CTRUNC) != 0 ? "descriptors" : "bytes"
            throw SystemError("recvmsg", "message truncated (\(what))", errno: EMSGSIZE)
        }
        return Message(bytes: bytes, descriptors: descriptors)
    }
}
