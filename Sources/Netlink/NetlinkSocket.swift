import CMNL
import Glibc
import LinuxSystem

/// One rtnetlink socket (libmnl), created in the namespace of the thread that made it and
/// belonging to that namespace for life. Not thread-safe: `NetlinkHandle` serialises use.
final class NetlinkSocket {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var sequence: UInt32
    private let receiveBuffer: UnsafeMutableRawBufferPointer
    private let requestBuffer: UnsafeMutableRawBufferPointer

    /// Opens and binds a NETLINK_ROUTE socket with extended acks in the calling thread's namespace.
    init() throws(NetlinkError) {
        guard let socket = mnl_socket_open2(NETLINK_ROUTE, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw NetlinkError(operation: "socket(AF_NETLINK, NETLINK_ROUTE)", errno: errno)
        }
        var one: Int32 = 1
        // Best effort: without them errors still arrive, only without the kernel's text.
        _ = mnl_socket_setsockopt(
            socket, NETLINK_EXT_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(
            socket, NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        if mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let saved = errno
            mnl_socket_close(socket)
            throw NetlinkError(operation: "bind(AF_NETLINK)", errno: saved)
        }
        self.socket = socket
        self.portID = mnl_socket_get_portid(socket)
        self.sequence = UInt32(truncatingIfNeeded: Clock.unixSeconds())
        // Dumps fill up to the buffer; 64 KiB holds many messages per read.
        self.receiveBuffer = .allocate(byteCount: 65536, alignment: 8)
        self.requestBuffer = .allocate(byteCount: 8192, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        receiveBuffer.deallocate()
        requestBuffer.deallocate()
    }

    /// Builds a request with `build`, sends it, and passes every reply message of that request
    /// to `each` until the kernel's ack (or NLMSG_DONE for a dump). Errors carry `operation`.
    func transact(
        type: Int, flags: Int32, operation: String,
        build: (MessageBuilder) -> Void,
        each: (UnsafePointer<nlmsghdr>) -> Void = { _ in }
    ) throws(NetlinkError) {
        requestBuffer.initializeMemory(as: UInt8.self, repeating: 0)
        let header = mnl_nlmsg_put_header(requestBuffer.baseAddress)!
        sequence &+= 1
        header.pointee.nlmsg_type = UInt16(type)
        header.pointee.nlmsg_flags = UInt16(Int32(NLM_F_REQUEST) | flags)
        header.pointee.nlmsg_seq = sequence
        build(MessageBuilder(header: header, capacity: requestBuffer.count))

        do throws(SystemError) {
            _ = try checkedCall("sendto") {
                mnl_socket_sendto(socket, header, Int(header.pointee.nlmsg_len))
            }
        } catch {
            throw NetlinkError(operation: operation, errno: error.errno)
        }

        while true {
            let received: Int
            do throws(SystemError) {
                received = try checkedCall("recvfrom") {
                    mnl_socket_recvfrom(socket, receiveBuffer.baseAddress, receiveBuffer.count)
                }
            } catch {
                throw NetlinkError(operation: operation, errno: error.errno)
            }
            var remaining = Int32(received)
            var message = UnsafeMutablePointer(
                mutating: receiveBuffer.baseAddress!.assumingMemoryBound(to: nlmsghdr.self))
            while mnl_nlmsg_ok(message, remaining) {
                defer { message = mnl_nlmsg_next(message, &remaining) }
                // Replies to an earlier request that gave up half-way are skipped.
                guard message.pointee.nlmsg_seq == sequence, message.pointee.nlmsg_pid == portID
                else {
                    continue
                }
                switch Int32(message.pointee.nlmsg_type) {
                case NLMSG_ERROR:
                    let (code, text) = Self.parseError(message)
                    if code == 0 { return }
                    throw NetlinkError(operation: operation, errno: -code, kernelMessage: text)
                case NLMSG_DONE:
                    // A dump may end with an error code in NLMSG_DONE's payload.
                    if mnl_nlmsg_get_payload_len(message) >= 4 {
                        let code = mnl_nlmsg_get_payload(message)!.loadUnaligned(as: Int32.self)
                        if code < 0 { throw NetlinkError(operation: operation, errno: -code) }
                    }
                    return
                case NLMSG_NOOP:
                    continue
                default:
                    each(UnsafePointer(message))
                }
            }
        }
    }

    /// Reads `struct nlmsgerr` and, if present, the extended-ack TLVs after it
    /// (`NLMSGERR_ATTR_MSG`). `mnl_cb_run` ignores that text, so we walk it ourselves.
    private static func parseError(_ message: UnsafeMutablePointer<nlmsghdr>) -> (Int32, String?) {
        let payload = mnl_nlmsg_get_payload(message)!
        guard mnl_nlmsg_get_payload_len(message) >= MemoryLayout<nlmsgerr>.size else {
            return (-EIO, nil)
        }
        let error = payload.loadUnaligned(as: nlmsgerr.self)
        let flags = Int32(message.pointee.nlmsg_flags)
        guard flags & NLM_F_ACK_TLVS != 0 else { return (error.error, nil) }
        var offset = MemoryLayout<nlmsgerr>.size
        if flags & NLM_F_CAPPED == 0 {
            offset += Int(error.msg.nlmsg_len) - MemoryLayout<nlmsghdr>.size
        }
        offset = (offset + 3) & ~3
        let end = UnsafeMutableRawPointer(message) + Int(message.pointee.nlmsg_len)
        var attribute = (payload + offset).assumingMemoryBound(to: nlattr.self)
        var text: String?
        while mnl_attr_ok(attribute, Int32(end - UnsafeMutableRawPointer(attribute))) {
            if mnl_attr_get_type(attribute) == UInt16(NLMSGERR_ATTR_MSG.rawValue) {
                text = String(cString: mnl_attr_get_str(attribute))
            }
            attribute = mnl_attr_next(attribute)
        }
        return (error.error, text)
    }
}

/// Appends the fixed header and attributes of one request.
struct MessageBuilder {
    let header: UnsafeMutablePointer<nlmsghdr>
    let capacity: Int

    /// Appends a zeroed fixed header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`) and lets `fill` set it.
    @discardableResult
    func putHeader<T>(_ value: T) -> UnsafeMutableRawPointer {
        let raw = mnl_nlmsg_put_extra_header(header, MemoryLayout<T>.size)!
        raw.storeBytes(of: value, as: T.self)
        return raw
    }

    func put(_ type: Int, string: String) { mnl_attr_put_strz(header, UInt16(type), string) }
    func put(_ type: Int, u32: UInt32) { mnl_attr_put_u32(header, UInt16(type), u32) }
    func put(_ type: Int, u8: UInt8) { mnl_attr_put_u8(header, UInt16(type), u8) }
    func put(_ type: Int, bytes: [UInt8]) {
        bytes.withUnsafeBytes { mnl_attr_put(header, UInt16(type), $0.count, $0.baseAddress) }
    }

    /// Wraps the attributes `body` appends in a nest of `type`.
    func nest(_ type: Int, _ body: () -> Void) {
        let start = mnl_attr_nest_start(header, UInt16(type))
        body()
        mnl_attr_nest_end(header, start)
    }
}

/// Walks the attributes of a message after its fixed header of `headerSize` bytes, or of a nest.
struct AttributeWalker {
    /// Calls `each(type, attribute)` for every attribute from `start` to `end`.
    static func walk(
        from start: UnsafeRawPointer, to end: UnsafeRawPointer,
        _ each: (UInt16, UnsafePointer<nlattr>) -> Void
    ) {
        var attribute = start.assumingMemoryBound(to: nlattr.self)
        while end > UnsafeRawPointer(attribute),
            mnl_attr_ok(attribute, Int32(end - UnsafeRawPointer(attribute)))
        {
            each(mnl_attr_get_type(attribute), attribute)
            attribute = UnsafePointer(mnl_attr_next(attribute))
        }
    }

    static func walk(
        message: UnsafePointer<nlmsghdr>, headerSize: Int,
        _ each: (UInt16, UnsafePointer<nlattr>) -> Void
    ) {
        let start = mnl_nlmsg_get_payload_offset(message, headerSize)!
        let end = mnl_nlmsg_get_payload_tail(message)!
        walk(from: start, to: end, each)
    }

    static func walk(nest: UnsafePointer<nlattr>, _ each: (UInt16, UnsafePointer<nlattr>) -> Void) {
        let start = mnl_attr_get_payload(nest)!
        walk(from: start, to: start + Int(mnl_attr_get_payload_len(nest)), each)
    }

    static func string(_ attribute: UnsafePointer<nlattr>) -> String {
        String(cString: mnl_attr_get_str(attribute))
    }

    static func bytes(_ attribute: UnsafePointer<nlattr>) -> [UInt8] {
        let length = Int(mnl_attr_get_payload_len(attribute))
        return Array(UnsafeRawBufferPointer(start: mnl_attr_get_payload(attribute), count: length))
    }
}
