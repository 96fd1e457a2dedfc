import CSystem
import Glibc
import Synchronization

/// One long-lived thread that hops into a namespace for a short piece of work (opening a
/// socket or a sysctl file, unsharing a new namespace) and back into the process's namespace
/// after each piece.
///
/// A fresh thread per hop costs a clone, a join and two context switches; a lab brings up a
/// dozen of those, which showed in `mlab lab up`. The worker is started on first use, blocks
/// every signal (it must never take one meant for the process) and runs one job at a time.
/// Work that may block for long (a connect with a timeout, user closures) keeps using
/// `NetworkNamespace.run(in:)`, which starts its own thread.
final class NamespaceWorker: Sendable {
    static let shared = NamespaceWorker()

    private struct State {
        var queue: [WorkerJob] = []
        var running = false
        /// The process whose thread `running` speaks of: a child made by fork has none of
        /// its parent's threads and must start its own worker.
        var owner: pid_t = 0
    }

    private let state = Mutex(State())
    /// Posted once per queued job; the worker thread waits on it.
    private let pending = Semaphore()
    /// The namespace the worker returns to after each job (tests point it elsewhere).
    private let homePath: String

    init(homePath: String = "/proc/self/ns/net") {
        self.homePath = homePath
    }

    /// Runs `body` on the worker after it entered `namespace` (nil: the process's own, that of
    /// the main thread). The worker returns to the process's namespace afterwards, whatever
    /// `body` did to its own (it may `unshare`).
    func perform<T>(in namespace: String?, _ body: @escaping () throws(NetlinkError) -> T)
        throws(NetlinkError) -> T
    {
        var outcome: Result<T, NetlinkError>?
        let job = WorkerJob(namespace: namespace) {
            do throws(NetlinkError) { outcome = .success(try body()) } catch {
                outcome = .failure(error)
            }
        }
        try submit(job)
        job.done.wait()
        if let failure = job.failure { throw failure }
        return try outcome!.get()
    }

    private func submit(_ job: WorkerJob) throws(NetlinkError) {
        let process = getpid()
        let start = state.withLock { state -> Bool in
            if state.running && state.owner != process {
                // Forked: the worker thread and the jobs queued for it stayed in the parent.
                state = State()
            }
            state.queue.append(job)
            if state.running { return false }
            state.running = true
            state.owner = process
            return true
        }
        if start {
            do throws(NetlinkError) {
                try startThread()
            } catch {
                // Not only this job: others queued meanwhile saw `running` and only posted.
                failQueued(error)
                throw error
            }
        }
        pending.post()
    }

    private func startThread() throws(NetlinkError) {
        let home = open(homePath, O_RDONLY | O_CLOEXEC)
        if home < 0 { throw NetlinkError(operation: "open \(homePath)", errno: errno) }
        let context = Unmanaged.passRetained(WorkerContext(worker: self, home: home)).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        // Created with every signal blocked, so the thread never runs a handler or steals a
        // signal sigwait()ed for elsewhere; the caller's mask is restored right after.
        var all = sigset_t()
        var saved = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &saved)
        let status = pthread_create(
            &thread, &attributes,
            { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                _ = csystem_set_thread_name(pthread_self(), "netns-worker")
                context.worker.serve(home: context.home)
                return nil
            }, context)
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        if status != 0 {
            Unmanaged<WorkerContext>.fromOpaque(context).release()
            close(home)
            throw NetlinkError(operation: "pthread_create", errno: status)
        }
    }

    /// The worker thread's loop. It never ends while it can get home; if it cannot (setns
    /// back fails), it hands the queue to a new thread and exits, so no later job runs in a
    /// namespace it did not ask for.
    private func serve(home: Int32) {
        // A new thread is in the namespace of the thread that made it (a caller inside a
        // `run(in:)` body, or a worker stranded elsewhere), and `nil` jobs do not hop: go home
        // before the first one.
        if csystem_setns(home, CSYSTEM_CLONE_NEWNET) != 0 {
            let error = NetlinkError(operation: "setns \(homePath)", errno: errno)
            close(home)
            failQueued(error)
            return
        }
        while true {
            pending.wait()
            guard let job = state.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() })
            else { continue }
            if let namespace = job.namespace {
                do throws(NetlinkError) {
                    try NetworkNamespace.enterOnCurrentThread(namespace)
                    job.body()
                } catch {
                    job.failure = error
                }
            } else {
                job.body()
            }
            let back = csystem_setns(home, CSYSTEM_CLONE_NEWNET)
            let stranded = back != 0 ? errno : 0
            if stranded != 0 {
                // The job itself ran where it asked to; only this thread is lost.
                let restart = state.withLock { state -> Bool in
                    state.running = !state.queue.isEmpty
                    return state.running
                }
                job.done.post()
                close(home)
                if restart {
                    do throws(NetlinkError) { try startThread() } catch {
                        failQueued(error)
                    }
                }
                return
            }
            job.done.post()
        }
    }

    private func failQueued(_ error: NetlinkError) {
        let jobs = state.withLock { state -> [WorkerJob] in
            defer { state.queue.removeAll(); state.running = false }
            return state.queue
        }
        for job in jobs {
            job.failure = error
            job.done.post()
        }
    }
}

private final class WorkerContext {
    let worker: NamespaceWorker
    let home: Int32
    init(worker: NamespaceWorker, home: Int32) {
        self.worker = worker
        self.home = home
    }
}

/// A queued hop. Its fields are written by the worker before `done` is posted and read by
/// the submitter after `done.wait()`: the semaphore orders the accesses.
private final class WorkerJob: @unchecked Sendable {
    let namespace: String?
    let body: () -> Void
    var failure: NetlinkError?
    let done = Semaphore()

    init(namespace: String?, body: @escaping () -> Void) {
        self.namespace = namespace
        self.body = body
    }
}

/// A POSIX semaphore at a fixed address (sem_t must not move once initialised).
final class Semaphore: @unchecked Sendable {
    private let raw: UnsafeMutablePointer<sem_t>

    init() {
        raw = .allocate(capacity: 1)
        sem_init(raw, 0, 0)
    }

    deinit {
        sem_destroy(raw)
        raw.deallocate()
    }

    func post() { sem_post(raw) }

    func wait() { while sem_wait(raw) != 0 && errno == EINTR {} }
}
