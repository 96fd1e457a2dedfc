import Glibc

/// A joinable pthread running a closure (no Swift concurrency: delivery blocks in syscalls).
enum MaildirThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// pthread_create(3) running `body`; join or detach the result.
    static func start(_ body: @escaping () -> Void) -> pthread_t {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                // Signals belong to the server's loop (signalfd), never to a writer thread.
                var all = sigset_t()
                sigfillset(&all)
                pthread_sigmask(SIG_BLOCK, &all, nil)
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        precondition(result == 0, "MaildirWriter: pthread_create failed: \(result)")
        return thread
    }
}
