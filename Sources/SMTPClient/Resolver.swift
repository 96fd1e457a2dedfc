import Glibc
import LinuxSystem

extension SocketAddress {
    /// Resolves `host` (a name or an IP literal; nil for the wildcard when `passive`) with
    /// getaddrinfo(3). Resolution happens in the calling thread's namespace (files and DNS).
    static func resolve(_ host: String?, port: UInt16, passive: Bool = false)
        throws(ClientError) -> [SocketAddress]
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
        var result: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(
                        from: UnsafeRawBufferPointer(
                            start: address, count: Int(entry.pointee.ai_addrlen)))
                }
                if let decoded = SocketAddress(decoding: storage) { result.append(decoded) }
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }
}
