import CSystem
import Glibc

/// Starting threads: the project's one pthread starter.
///
/// Every thread this project starts is named (it shows in `top -H` and core dumps) and blocks
/// every signal by default: signals belong to the thread that waits for them (smtpd's main
/// thread in `sigwait`), and a worker that took one would run a handler or steal it. The mask
/// is set before `pthread_create`, so there is no moment in which the new thread could take a
/// signal; the caller's own mask is restored right after.
public enum SystemThread {
    /// What the new thread does with signals.
    public enum Signals: Sendable {
        /// Every signal blocked (the default).
        case blocked
        /// The creating thread's mask.
        case inherited
    }

    private final class Body {
        let name: String
        let run: () -> Void
        init(_ name: String, _ run: @escaping () -> Void) {
            self.name = String(decoding: name.utf8.prefix(15), as: UTF8.self)
            self.run = run
        }
    }

    /// Starts a pthread named `name` (at most 15 bytes are kept) running `body`. A joinable
    /// thread is returned for `pthread_join`; a detached one cleans up after itself. The
    /// thread starts in the network namespace of the creating thread.
    @discardableResult
    public static func start(
        name: String, signals: Signals = .blocked, detached: Bool = false,
        _ body: @escaping () -> Void
    ) throws(SystemError) -> pthread_t {
        let context = Unmanaged.passRetained(Body(name, body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
        var saved = sigset_t()
        if signals == .blocked {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_SETMASK, &all, &saved)
        }
        var thread = pthread_t()
        let status = pthread_create(
            &thread, &attributes,
            { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                // Named from inside: a detached thread's pthread_t may be gone by the time
                // pthread_create returns.
                _ = csystem_set_thread_name(pthread_self(), body.name)
                body.run()
                return nil
            }, context)
        if signals == .blocked { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemError("pthread_create", name, errno: status)
        }
        return thread
    }

    /// Starts a thread, waits for it and returns what `body` returned or threw: for work
    /// that must not run on the caller's thread (namespace hops). A thread that cannot start
    /// throws its `SystemError`.
    public static func run<T>(name: String, _ body: @escaping () throws -> T) throws -> T {
        let outcome = ThreadOutcome<T>()
        let thread = try start(name: name) {
            outcome.result = Result { try body() }
        }
        pthread_join(thread, nil)
        return try outcome.result!.get()
    }
}

/// What a `run` thread hands back; written before the join, read after it.
private final class ThreadOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// A POSIX semaphore at a fixed address (sem_t must not move once initialised).
public final class Semaphore: @unchecked Sendable {
    private let raw: UnsafeMutablePointer<sem_t>

    public init(value: UInt32 = 0) {
        raw = .allocate(capacity: 1)
        sem_init(raw, 0, value)
    }

    deinit {
        sem_destroy(raw)
        raw.deallocate()
    }

    public func post() { sem_post(raw) }

    /// sem_wait(3), EINTR retried.
    public func wait() { _ = try? checkedCall("sem_wait") { sem_wait(raw) } }
}

/// Online processors (sysconf(_SC_NPROCESSORS_ONLN)).
public func processorCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
