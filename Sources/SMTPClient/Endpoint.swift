import CSystem
import Glibc
import Netlink

/// A resolved socket address (IPv4 or IPv6) as the kernel wants it.
public struct Endpoint: Sendable, CustomStringConvertible {
    public let family: Int32
    let storage: sockaddr_storage
    let length: socklen_t

    /// Numeric host shown in messages ("127.0.0.1", "::1").
    public var host: String { numericHost() }
    public var port: UInt16 {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt16(bigEndian: $0.pointee.sin_port)  // sin_port and sin6_port share the offset
            }
        }
    }
    public var description: String {
        family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
        self.family = Int32(storage.ss_family)
    }

    /// Resolves `host` (a name or an IP literal; nil for the wildcard when `passive`) with
    /// getaddrinfo(3). Resolution happens in the calling thread's namespace (files and DNS).
    public static func resolve(_ host: String?, port: UInt16, passive: Bool = false)
        throws(ClientError) -> [Endpoint]
    {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .resolve(host: host ?? "*", message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var result: [Endpoint] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(
                        from: UnsafeRawBufferPointer(
                            start: address, count: Int(entry.pointee.ai_addrlen)))
                }
                result.append(Endpoint(storage: storage, length: entry.pointee.ai_addrlen))
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    private func numericHost() -> String {
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let status = withSockaddr { address, length in
            getnameinfo(address, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
        }
        guard status == 0 else { return "?" }
        let host = String(
            decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // An IPv4 peer of a dual-stack listener: show it as IPv4.
        if host.hasPrefix("::ffff:"), host.contains(".") { return String(host.dropFirst(7)) }
        return host
    }

    static func fromDescriptor(_ fd: Int32, peer: Bool) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        return status == 0 ? Endpoint(storage: storage, length: length) : nil
    }
}
