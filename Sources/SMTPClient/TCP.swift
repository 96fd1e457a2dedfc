import CSystem
import Glibc
import Namespaces
import LinuxSystem

/// Blocking TCP sockets for clients and tools: connect with a timeout, listen, accept.
/// Every socket can be created inside a named network namespace; it stays there for life and
/// can be used from any thread afterwards.
public enum TCP {
    /// Connects to the first address of `host` that answers. `timeout` bounds each attempt
    /// (nil: the kernel's own, about two minutes). The socket is created on a thread inside
    /// `namespace` (nil: the caller's). Returns a blocking, close-on-exec descriptor.
    ///
    /// With `source`, the socket is bound to that local address first and only addresses of
    /// its family are tried (OpenSMTPD's `relay … src`).
    ///
    /// Equivalent to: `ip netns exec $namespace nc -w $timeout [-s $source] $host $port`.
    public static func connect(
        host: String, port: UInt16, timeout: Double? = nil, namespace: String? = nil,
        source: String? = nil
    ) throws(ClientError) -> Int32 {
        try inNamespace(namespace) { () throws(ClientError) -> Int32 in
            let local = try source.map { (address) throws(ClientError) -> SocketAddress in
                guard let bound = try SocketAddress.resolve(address, port: 0, passive: true).first
                else { throw ClientError.resolve(host: address, message: "no address") }
                return bound
            }
            var endpoints = try SocketAddress.resolve(host, port: port)
            if let local { endpoints = endpoints.filter { $0.family == local.family } }
            var lastError = ClientError.resolve(
                host: host,
                message: local == nil ? "no address" : "no address of the source's family")
            for endpoint in endpoints {
                do throws(ClientError) {
                    return try connect(to: endpoint, from: local, timeout: timeout, name: host)
                } catch {
                    lastError = error
                }
            }
            throw lastError
        }
    }

    /// Opens a listening socket on `host` (nil: every address, IPv6 and IPv4 on one socket)
    /// and `port` (0: any free port) inside `namespace`. Returns the descriptor and the bound
    /// port.
    ///
    /// Equivalent to: `ip netns exec $namespace nc -l $host $port` (the listen part).
    public static func listen(
        host: String? = nil, port: UInt16, namespace: String? = nil, backlog: Int32 = 16
    ) throws(ClientError) -> (fd: Int32, port: UInt16) {
        try inNamespace(namespace) { () throws(ClientError) -> (fd: Int32, port: UInt16) in
            let candidates: [SocketAddress]
            if let host {
                candidates = try SocketAddress.resolve(host, port: port, passive: true)
            } else {
                // `::` with IPV6_V6ONLY off takes IPv4 too; 0.0.0.0 when IPv6 is disabled.
                candidates =
                    ((try? SocketAddress.resolve("::", port: port, passive: true)) ?? [])
                    + (try SocketAddress.resolve("0.0.0.0", port: port, passive: true))
            }
            var lastError = ClientError.resolve(host: host ?? "*", message: "no address")
            for endpoint in candidates {
                do throws(ClientError) {
                    return try listen(on: endpoint, dualStack: host == nil, backlog: backlog)
                } catch {
                    lastError = error
                }
            }
            throw lastError
        }
    }

    /// Waits up to `timeout` seconds (nil: forever) for a connection on `listener`.
    /// Returns the connected descriptor and the peer's address.
    public static func accept(_ listener: Int32, timeout: Double? = nil) throws(ClientError)
        -> (fd: Int32, peer: SocketAddress?)
    {
        guard try wait(listener, for: Int16(POLLIN), timeout: timeout) else {
            throw .timeout("waiting for a connection", seconds: timeout ?? 0)
        }
        while true {
            do throws(SystemError) {
                let fd = try checkedCall("accept") {
                    csystem_accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
                }
                return (fd, try? SocketAddress.peer(of: fd))
            } catch  where error.errno == ECONNABORTED {
                continue  // the peer gave up before we took it: wait for the next
            } catch {
                throw .system(error)
            }
        }
    }

    /// Runs `body` on a thread inside `namespace`, or right here when it is nil.
    static func inNamespace<T>(
        _ namespace: String?, _ body: @escaping () throws(ClientError) -> T
    ) throws(ClientError) -> T {
        guard let namespace else { return try body() }
        guard NetworkNamespace.exists(namespace) else { throw .unknownNamespace(namespace) }
        do {
            return try NetworkNamespace.run(in: namespace) { try body() }
        } catch let error as ClientError {
            throw error
        } catch {
            throw .namespace(namespace, message: "\(error)")
        }
    }

    private static func connect(
        to endpoint: SocketAddress, from local: SocketAddress? = nil, timeout: Double?,
        name: String
    ) throws(ClientError) -> Int32 {
        let fd = try makeSocket(endpoint.family)
        do throws(ClientError) {
            if let local {
                do {
                    _ = try checkedCall("bind", "\(local)") {
                        local.withSockaddr { Glibc.bind(fd, $0, $1) }
                    }
                } catch {
                    throw .system(error)
                }
            }
            // Non-blocking only for the connect, so that it can time out.
            let flags = csystem_fcntl_getfl(fd)
            _ = csystem_fcntl_setfl(fd, flags | O_NONBLOCK)
            let status = endpoint.withSockaddr { Glibc.connect(fd, $0, $1) }
            if status != 0 {
                // An interrupted connect goes on in the background, like one in progress.
                guard errno == EINPROGRESS || errno == EINTR else {
                    throw .connect(host: endpoint.host, port: endpoint.port, errno: errno)
                }
                guard try wait(fd, for: Int16(POLLOUT), timeout: timeout) else {
                    throw .timeout(
                        "connecting to \(endpoint)", seconds: timeout ?? 0)
                }
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                if code != 0 {
                    throw .connect(host: endpoint.host, port: endpoint.port, errno: code)
                }
            }
            _ = csystem_fcntl_setfl(fd, flags)
            return fd
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    private static func makeSocket(_ family: Int32) throws(ClientError) -> Int32 {
        do {
            return try checkedCall("socket") {
                socket(family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            }
        } catch {
            throw .system(error)
        }
    }

    private static func listen(on endpoint: SocketAddress, dualStack: Bool, backlog: Int32)
        throws(ClientError) -> (fd: Int32, port: UInt16)
    {
        let fd = try makeSocket(endpoint.family)
        do throws(ClientError) {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if endpoint.family == AF_INET6 {
                var only: Int32 = dualStack ? 0 : 1
                setsockopt(
                    fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only,
                    socklen_t(MemoryLayout<Int32>.size))
            }
            do throws(SystemError) {
                _ = try endpoint.withSockaddr { address, length throws(SystemError) in
                    try checkedCall("bind", endpoint.description) { bind(fd, address, length) }
                }
                _ = try checkedCall("listen", endpoint.description) { Glibc.listen(fd, backlog) }
                return (fd, (try? SocketAddress.local(of: fd))?.port ?? endpoint.port)
            } catch {
                throw .system(error)
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }
}

/// poll(2) on one descriptor; false when `timeout` (seconds, nil: forever) passed first.
func wait(_ fd: Int32, for events: Int16, timeout: Double?) throws(ClientError) -> Bool {
    var entry = pollfd(fd: fd, events: events, revents: 0)
    let deadline = timeout.map { Clock.monotonicSeconds() + $0 }
    do {
        // Each retry after a signal waits only for the time left.
        return try checkedCall("poll") {
            let milliseconds =
                deadline.map {
                    max(0, Int32((($0 - Clock.monotonicSeconds()) * 1000).rounded(.up)))
                } ?? -1
            return poll(&entry, 1, milliseconds)
        } > 0
    } catch {
        throw .system(error)
    }
}
