import Glibc
import LinuxSystem
import Synchronization

/// Durable Maildir delivery off the event loop, with group commit.
///
/// A delivery is: create a uniquely named file in `tmp/` (O_EXCL, 0600), writev the chunks,
/// flush the data, link into `new/`, flush `new/`, and only then report success. A crash at
/// any point leaves either nothing in `new/` or the whole message.
///
/// Group commit (`.syncfs`, the default, and `.batchedFsync`) runs in rounds on one commit
/// thread. A round takes every call pending as one batch and writes its files; its one flush
/// makes durable both the data of that batch and the `new/` entries of the batch linked in
/// the round before (one `syncfs` per file system, or all their fsyncs side by side); then
/// the earlier batch completes and the new one is linked into `new/`, and the next round
/// starts at once. A message still passes two flushes (its data before its link, its name
/// before its completion), but each flush serves two batches, and no hand-off between
/// threads lies between them. Files are created on the same thread, between flushes, never
/// while one runs: a create in a folder whose blocks a flush is writing waits for that write
/// (BENCHMARKS.md, "Where the flush wait goes"). While a round runs, the next calls queue.
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
        threads = Mutex([
            Self.startThread("maildir-commit") {
                Self.commitRounds(submitted, steps)
                pool?.shutdown()
            }
        ])
    }

    /// A batch's share of `batchFileLimit`: its files (a failed job still counts one).
    private static func weight(_ job: DeliveryJob) -> Int {
        max(job.items.count + job.files.count, 1)
    }

    /// The commit thread: rounds of take, write, flush, complete, link (see the type's doc).
    /// With a linked batch waiting for its names' flush, the next round starts at once with
    /// whatever is pending, even nothing; otherwise it waits for work.
    private static func commitRounds(
        _ submitted: MaildirWorkQueue<DeliveryJob>, _ steps: MaildirDeliverySteps
    ) {
        var linked: [DeliveryJob] = []  // in new/, their names not flushed yet
        while true {
            let jobs: [DeliveryJob]
            if linked.isEmpty {
                guard let taken = submitted.take(limit: batchFileLimit, weight: weight) else {
                    return
                }
                jobs = taken
            } else {
                jobs = submitted.takePending(limit: batchFileLimit, weight: weight)
            }
            FlushTrace.taken(jobs)
            steps.write(jobs)
            FlushTrace.stamp(jobs, \.written)
            // Test hooks (UnsafeFlushSkips): `data` links a batch before any flush has
            // reached its data; `folders` answers it before a flush has reached its names.
            let early = UnsafeFlushSkips.data
            if early {
                steps.publish(jobs)
                FlushTrace.stamp(jobs, \.linked)
            }
            let named = UnsafeFlushSkips.folders ? [] : linked + (early ? jobs : [])
            FlushTrace.stamp(named, \.namesStarted)
            steps.flushRound(data: jobs, names: named)
            FlushTrace.stamp(jobs, \.dataFlushed)
            FlushTrace.stamp(named, \.namesFlushed)
            steps.complete(linked)
            if !early {
                steps.publish(jobs)
                FlushTrace.stamp(jobs, \.linked)
            }
            if early || UnsafeFlushSkips.folders {
                steps.complete(jobs)
                linked = []
            } else {
                // A call that failed on the way has nothing left to flush: answered now.
                steps.complete(jobs.filter { !$0.isAlive })
                linked = jobs.filter(\.isAlive)
            }
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
