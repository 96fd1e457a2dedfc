import Glibc
import LinuxSystem

/// One long-lived thread for short hops into a namespace (opening a socket or a sysctl file,
/// unsharing a new namespace), back home after each.
///
/// A fresh thread per hop costs a clone, a join and two context switches; a lab brings up a
/// dozen of those, which showed in `mlab lab up`. The worker is started on first use and runs
/// one job at a time. A child made by fork has none of its parent's threads: its first job
/// (told so by the fork-safe lock) drops the parent's queue and starts a worker of its own.
/// Work that may block for long uses `run(in:)`.
final class NamespaceWorker: @unchecked Sendable {
    static let shared = NamespaceWorker()

    /// Guarded by `lock`.
    private var queue: [WorkerJob] = []
    private var running = false
    private let lock = ForkSafeLock()
    /// Posted once per queued job; the worker thread waits on it.
    private var pending = Semaphore()
    private let homePath: String

    init(homePath: String = NamespaceHop.homePath) {
        self.homePath = homePath
    }

    /// Runs `body` on the worker inside `namespace` (nil: home).
    func perform(in namespace: String?, _ body: @escaping () -> Void) throws(SystemError) {
        let job = WorkerJob(namespace: namespace, body: body)
        let start = lock.withLock { inForkedChild -> Bool in
            if inForkedChild {
                // The worker, its jobs and its semaphore's posts stayed with the parent.
                running = false
                queue = []
                pending = Semaphore()
            }
            queue.append(job)
            if running { return false }
            running = true
            return true
        }
        if start {
            do throws(SystemError) {
                try startThread()
            } catch {
                // Not only this job: others queued meanwhile saw `running` and only posted.
                failQueued(error)
                throw error
            }
        }
        lock.withLock { _ in pending }.post()
        job.done.wait()
        if let failure = job.failure { throw failure }
    }

    private func startThread() throws(SystemError) {
        let home = try NamespaceHop.openHome(path: homePath)
        do {
            try SystemThread.start(name: "netns-worker", detached: true) { [self] in
                serve(home: home)
            }
        } catch {
            closeDescriptor(home)
            throw error
        }
    }

    /// The worker thread's loop. It never ends while it can get home; if it cannot, it hands
    /// the queue to a new thread and exits, so no later job runs in a namespace it did not ask
    /// for.
    private func serve(home: Int32) {
        let semaphore = lock.withLock { _ in pending }
        while true {
            semaphore.wait()
            guard let job = lock.withLock({ _ in queue.isEmpty ? nil : queue.removeFirst() }) else {
                continue
            }
            let (entered, stranded) = NamespaceHop.perform(in: job.namespace, home: home) {
                job.body()
            }
            job.failure = entered
            if stranded != nil {
                // The job itself ran where it asked to; only this thread is lost.
                let restart = lock.withLock { _ -> Bool in
                    running = !queue.isEmpty
                    return running
                }
                job.done.post()
                closeDescriptor(home)
                if restart {
                    do throws(SystemError) { try startThread() } catch { failQueued(error) }
                }
                return
            }
            job.done.post()
        }
    }

    private func failQueued(_ error: SystemError) {
        let jobs = lock.withLock { _ -> [WorkerJob] in
            defer {
                queue.removeAll()
                running = false
            }
            return queue
        }
        for job in jobs {
            job.failure = error
            job.done.post()
        }
    }
}

/// A queued hop. `failure` is written by the worker before `done` is posted and read by the
/// submitter after `done.wait()`: the semaphore orders the accesses.
private final class WorkerJob: @unchecked Sendable {
    let namespace: String?
    let body: () -> Void
    var failure: SystemError?
    let done = Semaphore()

    init(namespace: String?, body: @escaping () -> Void) {
        self.namespace = namespace
        self.body = body
    }
}
