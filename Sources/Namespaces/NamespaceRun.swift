import Glibc
import LinuxSystem

extension NetworkNamespace {
    /// Runs `body` inside namespace `name` (nil: the process's own) on the namespace worker
    /// and returns its result: for short, non-blocking work (open a socket or a sysctl file,
    /// unshare). The calling thread never changes namespace.
    public static func perform<T>(in name: String?, _ body: @escaping () -> T)
        throws(NamespaceError) -> T
    {
        var result: T?
        do {
            try NamespaceWorker.shared.perform(in: name) { result = body() }
        } catch {
            throw NamespaceError("ip netns exec \(name ?? "(self)")", error)
        }
        return result!
    }

    /// Runs `body` on a new thread inside namespace `name` (nil: the process's own), waits
    /// for it and returns its result: for work that may block (a connect with a timeout, a
    /// probe, user code). The calling thread never changes namespace.
    ///
    /// Equivalent to: `ip netns exec $name …` for a piece of Swift code.
    public static func run<T>(in name: String?, _ body: @escaping () throws -> T) throws -> T {
        try SystemThread.run(name: "netns-run") { try hop(into: name, body) }
    }

    /// The async form of `run(in:_:)`: the task is suspended, not blocked, while the thread
    /// works.
    public static func run<T: Sendable>(
        in name: String?, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try SystemThread.start(name: "netns-run", detached: true) {
                    continuation.resume(with: Result { try hop(into: name, body) })
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// `run(in:)`'s thread: in, `body`, back (a thread that cannot get back ends here anyway,
    /// so only getting in is reported).
    private static func hop<T>(into name: String?, _ body: () throws -> T) throws -> T {
        let command = "ip netns exec \(name ?? "(self)")"
        let home: Int32
        do {
            home = try NamespaceHop.openHome()
        } catch {
            throw NamespaceError(command, error)
        }
        defer { closeDescriptor(home) }
        var result: Result<T, any Error>?
        let (entered, _) = NamespaceHop.perform(in: name, home: home) {
            result = Result { try body() }
        }
        if let entered { throw NamespaceError(command, entered) }
        return try result!.get()
    }

    /// Moves the calling thread into the namespace `name`. Meant for a program's start-up
    /// (smtpd on its main thread, before any other thread exists): threads created later
    /// inherit the namespace, and it becomes the process's home. Never call it from async
    /// code or on a shared thread.
    ///
    /// Equivalent to: `ip netns exec $name` (network part only).
    public static func enterOnCurrentThread(name: String) throws(NamespaceError) {
        do {
            try NamespaceHop.enter(name, home: -1)
        } catch {
            throw NamespaceError("ip netns exec \(name)", error)
        }
    }
}
