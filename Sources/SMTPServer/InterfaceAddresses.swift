import CSystem
import Glibc
import LinuxSystem
import Reactor

/// One address configured on an interface of the current network namespace.
public struct InterfaceAddress: Sendable, Hashable {
    public var interface: String
    public var address: SocketAddress
}

/// The addresses of this network namespace's interfaces (getifaddrs(3)).
public func interfaceAddresses() -> [InterfaceAddress] {
    var head: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&head) == 0, let first = head else { return [] }
    defer { freeifaddrs(head) }
    var result: [InterfaceAddress] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let sockaddrPointer = entry.pointee.ifa_addr else { continue }
        let family = Int32(sockaddrPointer.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6 else { continue }
        var storage = sockaddr_storage()
        let size =
            family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(start: sockaddrPointer, count: size))
        }
        guard let address = SocketAddress(decoding: storage) else { continue }
        let name = String(cString: entry.pointee.ifa_name)
        result.append(InterfaceAddress(interface: name, address: address))
    }
    return result
}
