import CSystem
import Glibc
import Netlink

/// Blocking TCP sockets for clients and tools: connect with a timeout, listen, accept.
/// Every socket can be created inside a named network namespace; it stays there for life and
/// can be used from any thread afterwards.
public enum TCP {
    /// Connects to the first address of `host` that answers. `timeout` bounds each attempt
    /// (nil: the kernel's own, about two minutes). The socket is created on a thread inside
    /// `namespace` (nil: the caller's). Returns a blocking, close-on-exec descriptor.
    ///
    /// Equivalent to: `ip netns exec $namespace nc -w $timeout $host $port`.
    public static func connect(
        host: String, port: UInt16, timeout: Double? = nil, namespace: String? = nil
    ) throws(ClientError) -> Int32 {
        try inNamespace(namespace) { () throws(ClientError) -> Int32 in
            let endpoints = try Endpoint.resolve(host, port: port)
            var lastError = ClientError.resolve(host: host, message: "no address")
            for endpoint in endpoints {
                do throws(ClientError) {
                    return try connect(to: endpoint, timeout: timeout, name: host)
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
            let candidates: [Endpoint]
            if let host {
                candidates = try Endpoint.resolve(host, port: port, passive: true)
            } else {
                // `::` with IPV6_V6ONLY off takes IPv4 too; 0.0.0.0 when IPv6 is disabled.
                candidates =
                    ((try? Endpoint.resolve("::", port: port, passive: true)) ?? [])
                    + (try Endpoint.resolve("0.0.0.0", port: port, passive: true))
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
        -> (fd: Int32, peer: Endpoint?)
    {
        guard try wait(listener, for: Int16(POLLIN), timeout: timeout) else {
            throw .timeout("waiting for a connection", seconds: timeout ?? 0)
        }
        while true {
            let fd = csystem_accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
            if fd >= 0 { return (fd, Endpoint.fromDescriptor(fd, peer: true)) }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw .system("accept", errno: errno)
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

    private static func connect(to endpoint: Endpoint, timeout: Double?, name: String)
        throws(ClientError) -> Int32
    {
        let fd = socket(endpoint.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        do throws(ClientError) {
            // Non-blocking only for the connect, so that it can time out.
            let flags = csystem_fcntl_getfl(fd)
            _ = csystem_fcntl_setfl(fd, flags | O_NONBLOCK)
            let status = endpoint.withSockaddr { Glibc.connect(fd, $0, $1) }
            if status != 0 {
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
            close(fd)
            throw error
        }
    }

    private static func listen(on endpoint: Endpoint, dualStack: Bool, backlog: Int32)
        throws(ClientError) -> (fd: Int32, port: UInt16)
    {
        let fd = socket(endpoint.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        do throws(ClientError) {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if endpoint.family == AF_INET6 {
                var only: Int32 = dualStack ? 0 : 1
                setsockopt(
                    fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only,
                    socklen_t(MemoryLayout<Int32>.size))
            }
            if endpoint.withSockaddr({ bind(fd, $0, $1) }) != 0 {
                throw .system("bind \(endpoint)", errno: errno)
            }
            if Glibc.listen(fd, backlog) != 0 {
                throw .system("listen \(endpoint)", errno: errno)
            }
            return (fd, Endpoint.fromDescriptor(fd, peer: false)?.port ?? endpoint.port)
        } catch {
            close(fd)
            throw error
        }
    }
}

/// poll(2) on one descriptor; false when `timeout` (seconds, nil: forever) passed first.
func wait(_ fd: Int32, for events: Int16, timeout: Double?) throws(ClientError) -> Bool {
    var entry = pollfd(fd: fd, events: events, revents: 0)
    let deadline = timeout.map { monotonicSeconds() + $0 }
    while true {
        let milliseconds =
            deadline.map { max(0, Int32((($0 - monotonicSeconds()) * 1000).rounded(.up))) } ?? -1
        let status = poll(&entry, 1, milliseconds)
        if status > 0 { return true }
        if status == 0 { return false }
        if errno != EINTR { throw .system("poll", errno: errno) }
    }
}

/// CLOCK_MONOTONIC in seconds.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
