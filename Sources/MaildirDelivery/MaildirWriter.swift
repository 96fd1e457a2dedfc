import Glibc
import LinuxSystem
import Synchronization

/// Durable Maildir delivery off the event loop, with group commit.
///
/// A delivery is: create a uniquely named file in `tmp/` (O_EXCL, 0600), writev the chunks,
/// flush the data, link into `new/`, flush `new/`, and only then report success. A crash at
/// any point leaves either nothing in `new/` or the whole message.
///
/// Group commit (`.syncfs`, the default, and `.batchedFsync`) runs in rounds on two threads.
/// Each round has one flush, on the flush thread: it makes durable both the data of the
/// batch written last and the `new/` entries of the batch linked in the round before (one
/// `syncfs` per file system, or all their fsyncs side by side). Meanwhile the commit thread
/// takes every call pending and writes its files: the next batch. When the flush is done the
/// commit thread completes the earlier batch, links the flushed one into `new/`, and starts
/// the next round at once. A message still passes two flushes (its data before its link, its
/// name before its completion), but each flush serves two batches, and creating files does
/// not hold up the next flush (BENCHMARKS.md, "Where the flush wait goes").
/// In `.perFile` mode one thread does everything, one call at a time.
///
/// Completions run on the commit thread, never on a caller's; a `shutdown` from a
/// completion cannot wait for itself (the threads are detached instead).
///
/// `.syncfs` is the fastest of the three modes measured (BENCHMARKS.md, "Figures behind code
/// choices", with the cost of creating files in a folder where many were recently deleted;
/// "Where the flush wait goes" for the rounds).
public final class MaildirWriter: Sendable {
    /// Most files one writer batch holds open at once (bounds descriptors, not throughput).
    public static let batchFileLimit = 512
    /// Threads issuing the fsyncs of a batch side by side (they mostly wait for the disk).
    public static let fsyncThreads = 8

    private let submitted = MaildirWorkQueue<DeliveryJob>()
    private let threads: Mutex<[pthread_t]>
    /// What a streamed delivery's `begin` needs of the steps: names, the walk, the faults.
    let steps: MaildirDeliverySteps

    public convenience init(hostname: String, flushMode: FlushMode = .syncfs) {
        self.init(hostname: hostname, flushMode: flushMode, faults: nil)
    }

    /// `faults` fails chosen steps, for tests of the error paths.
    init(hostname: String, flushMode: FlushMode, faults: MaildirFaults?) {
        _ = UnsafeFlushSkips.data  // the test hook is read (and warns) at start
        let submitted = self.submitted
        if flushMode == .perFile {
            let steps = MaildirDeliverySteps(
                hostname: hostname, mode: flushMode, pool: nil, faults: faults)
            self.steps = steps
            threads = Mutex([
                Self.startThread("maildir-writer") {
                    while let jobs = submitted.take() {
                        for job in jobs { steps.run([job]) }
                    }
                }
            ])
            return
        }
        // Only fsyncs need the pool: a syncfs covers a whole file system in one call.
        let pool = flushMode == .batchedFsync ? MaildirFsyncPool(threads: Self.fsyncThreads) : nil
        let steps = MaildirDeliverySteps(
            hostname: hostname, mode: flushMode, pool: pool, faults: faults)
        self.steps = steps
        let flusher = MaildirFlusher()
        threads = Mutex([
            Self.startThread("maildir-commit") {
                Self.commitRounds(submitted, steps, flusher)
                flusher.stop()
                pool?.shutdown()
            },
            Self.startThread("maildir-flush") { flusher.serve() },
        ])
    }

    /// A batch's share of `batchFileLimit`: its files (a failed job still counts one).
    private static func weight(_ job: DeliveryJob) -> Int {
        max(job.items.count + job.files.count, 1)
    }

    /// The commit thread: rounds of flush, complete, link (see the type's doc). A round's
    /// flush runs on the flush thread while this one takes and writes the next batch, so
    /// creating files never delays a flush; with nothing written and nothing linked it waits
    /// for work, otherwise the next round starts at once with whatever has been written.
    private static func commitRounds(
        _ submitted: MaildirWorkQueue<DeliveryJob>, _ steps: MaildirDeliverySteps,
        _ flusher: MaildirFlusher
    ) {
        var linked: [DeliveryJob] = []  // in new/, their names not flushed yet
        var staged: [DeliveryJob] = []  // written, their data not flushed yet
        func stage(_ jobs: [DeliveryJob]) {
            FlushTrace.taken(jobs)
            steps.write(jobs)
            FlushTrace.stamp(jobs, \.written)
        }
        while true {
            if staged.isEmpty && linked.isEmpty {
                guard let jobs = submitted.take(limit: batchFileLimit, weight: weight) else {
                    return
                }
                stage(jobs)
                staged = jobs
            }
            // Test hooks (UnsafeFlushSkips): `data` links a batch before any flush has
            // reached its data; `folders` answers it before a flush has reached its names.
            let early = UnsafeFlushSkips.data
            if early {
                steps.publish(staged)
                FlushTrace.stamp(staged, \.linked)
            }
            let named = UnsafeFlushSkips.folders ? [] : linked + (early ? staged : [])
            FlushTrace.stamp(named, \.namesStarted)
            let flushing = staged
            flusher.start { steps.flushRound(data: flushing, names: named) }
            let next = submitted.takePending(limit: batchFileLimit, weight: weight)
            stage(next)
            flusher.wait()
            FlushTrace.stamp(staged, \.dataFlushed)
            FlushTrace.stamp(named, \.namesFlushed)
            steps.complete(linked)
            if !early {
                steps.publish(staged)
                FlushTrace.stamp(staged, \.linked)
            }
            if early || UnsafeFlushSkips.folders {
                steps.complete(staged)
                linked = []
            } else {
                // A call that failed on the way has nothing left to flush: answered now.
                steps.complete(staged.filter { !$0.isAlive })
                linked = staged.filter(\.isAlive)
            }
            staged = next
        }
    }

    /// The writer cannot work without its threads: a failure to start one is fatal.
    static func startThread(_ name: String, _ body: @escaping () -> Void) -> pthread_t {
        do {
            return try SystemThread.start(name: name, body)
        } catch {
            preconditionFailure("MaildirWriter: \(error)")
        }
    }

    deinit {
        // Not shut down: let the threads drain the queue and exit on their own.
        submitted.close()
        threads.withLock { threads in
            for thread in threads { pthread_detach(thread) }
            threads = []
        }
    }

    /// Delivers every item (one file each) and calls `completion` on a writer thread with the
    /// final paths in `new/`, in item order, once file data and `new/` entries are durable.
    /// On failure nothing of this call is left in `new/` or `tmp/`. After ``shutdown()`` the
    /// completion runs at once, on the caller's thread, with an "deliver" error (ESHUTDOWN).
    public func deliver(
        _ items: [DeliveryItem],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        let job = DeliveryJob(items: items, completion: completion)
        job.stamps.submitted = FlushTrace.now()
        if !submitted.put(job) {
            completion(.failure(SystemError("deliver", "", errno: ESHUTDOWN)))
        }
    }

    /// Queues a streamed delivery's written files for flush and publication; false after
    /// ``shutdown()`` (nothing queued).
    func submit(_ job: DeliveryJob) -> Bool {
        job.stamps.submitted = FlushTrace.now()
        return submitted.put(job)
    }

    /// Finishes everything queued (completions included), then joins the threads. Called from
    /// a completion, it cannot wait for the thread running it: the threads are detached
    /// instead (they still finish what is queued).
    public func shutdown() {
        submitted.close()
        let running = threads.withLock { threads in
            defer { threads = [] }
            return threads
        }
        // From a completion (the commit thread), the flush thread ends only after this one.
        let inside = running.contains { pthread_equal($0, pthread_self()) != 0 }
        for thread in running {
            if inside {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }
    }
}

/// The flush thread of the commit rounds: runs one flush at a time for the commit thread,
/// which meanwhile writes the next batch. A round's jobs are the flush's alone until `wait`
/// returns (the semaphores order every access).
final class MaildirFlusher: @unchecked Sendable {
    // @unchecked: `flush` is set before `requested.post` and read after `requested.wait`.
    private var flush: (() -> Void)?
    private let requested = Semaphore()
    private let done = Semaphore()

    func start(_ flush: @escaping () -> Void) {
        self.flush = flush
        requested.post()
    }

    func wait() { done.wait() }

    /// Ends `serve` once the flush in hand (if any) is done.
    func stop() {
        flush = nil
        requested.post()
    }

    func serve() {
        while true {
            requested.wait()
            guard let flush else { return }
            flush()
            self.flush = nil
            done.post()
        }
    }
}

extension MaildirDeliverySteps {
    /// All steps for one batch on the calling thread (`.perFile` mode).
    func run(_ jobs: [DeliveryJob]) {
        write(jobs)
        flushData(jobs)
        publish(jobs)
        flushFolders(jobs)
        complete(jobs)
    }
}
