import CSystem
import Glibc

/// Work that must run on a thread of its own inside a network namespace.
///
/// `setns` changes only the calling thread, so every namespace switch happens on a fresh
/// pthread that exits afterwards: no pool thread, no test thread and no async task is ever
/// moved into another namespace.
private class ThreadJob {
    func main() {}
}

private final class ResultJob<T>: ThreadJob, @unchecked Sendable {
    let namespace: String?
    let body: () throws -> T
    var result: Result<T, any Error>?
    let completion: ((Result<T, any Error>) -> Void)?

    init(
        namespace: String?, body: @escaping () throws -> T,
        completion: ((Result<T, any Error>) -> Void)?
    ) {
        self.namespace = namespace
        self.body = body
        self.completion = completion
    }

    override func main() {
        let outcome: Result<T, any Error>
        do {
            try NetworkNamespace.enterOnCurrentThread(namespace)
            outcome = .success(try body())
        } catch {
            outcome = .failure(error)
        }
        if let completion { completion(outcome) } else { result = outcome }
    }
}

private func startThread(_ job: ThreadJob, detached: Bool) throws(NetlinkError) -> pthread_t {
    var thread = pthread_t()
    let context = Unmanaged.passRetained(job).toOpaque()
    let status = pthread_create(
        &thread, nil,
        { raw in
            let job = Unmanaged<ThreadJob>.fromOpaque(raw!).takeRetainedValue()
            job.main()
            return nil
        }, context)
    if status != 0 {
        Unmanaged<ThreadJob>.fromOpaque(context).release()
        throw NetlinkError(operation: "pthread_create", errno: status)
    }
    if detached { pthread_detach(thread) }
    return thread
}

extension NetworkNamespace {
    /// Runs `body` on a new thread that has entered the namespace `name` (nil: the process's
    /// own namespace, that of the main thread), waits for it and returns its result. The
    /// calling thread never changes namespace.
    ///
    /// Equivalent to: `ip netns exec $name …` for a piece of Swift code.
    public static func run<T>(in name: String?, _ body: @escaping () throws -> T) throws -> T {
        let job = ResultJob(namespace: name, body: body, completion: nil)
        let thread = try startThread(job, detached: false)
        pthread_join(thread, nil)
        return try job.result!.get()
    }

    /// The async form of `run(in:_:)`: the task is suspended, not blocked, while the
    /// dedicated thread works.
    public static func run<T: Sendable>(
        in name: String?, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = ResultJob(namespace: name, body: body) { continuation.resume(with: $0) }
            do {
                _ = try startThread(job, detached: true)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Moves the calling thread into the namespace `name`. Meant for a program's start-up
    /// (smtpd on its main thread, before any other thread exists): threads created later
    /// inherit the namespace. Never call it from async code or on a shared thread.
    ///
    /// Equivalent to: `ip netns exec $name` (network part only).
    public static func enterOnCurrentThread(name: String) throws(NetlinkError) {
        try enterOnCurrentThread(Optional(name))
    }

    static func enterOnCurrentThread(_ name: String?) throws(NetlinkError) {
        let path = name.map { NetworkNamespace.path(of: $0) } ?? "/proc/self/ns/net"
        let operation = "ip netns exec \(name ?? "(self)")"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw NetlinkError(operation: "\(operation): open \(path)", errno: errno) }
        defer { close(fd) }
        if csystem_setns(fd, CSYSTEM_CLONE_NEWNET) != 0 {
            throw NetlinkError(operation: "\(operation): setns", errno: errno)
        }
    }
}
