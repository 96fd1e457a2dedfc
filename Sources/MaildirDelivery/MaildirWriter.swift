import Glibc
import LinuxSystem
import Synchronization

/// Durable Maildir delivery off the event loop, with group commit.
///
/// A delivery is: create a uniquely named file in `tmp/` (O_EXCL, 0600) whose name carries
/// the size it will have (`NAME,S=<size>`), writev the chunks, flush, link into `new/` as
/// `NAME`, and report success. A crash at any point leaves either nothing in `new/` or the
/// whole message, and every message reported has survived in `new/` or in `tmp/`, whole
/// and named so: the start-up sweep moves it into `new/` (``Maildir/sweepTemporaryFiles(hostname:)``,
/// docs/DURABILITY.md).
///
/// `.syncfs` (the default) runs in rounds on two threads, one flush per message. Each round's
/// flush, on the flush thread, makes durable the data and tmp/ names of one batch (one
/// `syncfs` per file system). Meanwhile the commit thread takes every call pending and
/// writes its files: the next batch. When the flush is done the commit thread starts the
/// next one at once, then links the flushed batch into `new/` and completes it, so neither
/// creating files nor linking them holds up a flush (BENCHMARKS.md, "Where the flush wait
/// goes"). A delivered file's tmp/ name goes once a later flush has covered its `new/`
/// names (docs/DURABILITY.md, "The protocol").
/// `.batchedFsync` keeps two flushes per message, as fsync cannot cover a tmp/ name without
/// flushing tmp/ itself: each round's flush makes durable both the data of the batch
/// written last and the `new/` entries of the batch linked in the round before (all their
/// fsyncs side by side); a round completes the earlier batch and links the flushed one.
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
                if flushMode == .syncfs {
                    Self.oneFlushRounds(submitted, steps, flusher)
                } else {
                    Self.commitRounds(submitted, steps, flusher)
                }
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

    private static func stage(_ jobs: [DeliveryJob], _ steps: MaildirDeliverySteps) {
        FlushTrace.taken(jobs)
        steps.write(jobs)
        FlushTrace.stamp(jobs, \.written)
    }

    /// The commit thread in `.syncfs` mode: rounds of flush, link, complete (see the type's
    /// doc). While one batch flushes, the next is taken and written; once the flush is done,
    /// the next batch's flush starts before the flushed one is linked and answered. Each
    /// flush also covers the new/ names linked before it started; then their tmp/ names go.
    /// With names left and nothing to write, a flush runs for them alone.
    private static func oneFlushRounds(
        _ submitted: MaildirWorkQueue<DeliveryJob>, _ steps: MaildirDeliverySteps,
        _ flusher: MaildirFlusher
    ) {
        var flushing: [DeliveryJob] = []  // written, in the flush thread's hands
        var running = false
        // The tmp/ names of files linked since the running flush started: the next covers them.
        var linked: [TemporaryName] = []
        let durable = FlushedNames()
        func flush(_ jobs: [DeliveryJob]) {
            let retiring = linked
            linked = []
            running = true
            flusher.start {
                durable.names = steps.flushRound(data: jobs, names: [], retiring: retiring)
            }
        }
        func finish(_ jobs: [DeliveryJob]) {
            steps.publish(jobs)
            // No names to flush: the name stages take no time.
            for stage in [\FlushStamps.linked, \.namesStarted, \.namesFlushed] {
                FlushTrace.stamp(jobs, stage)
            }
            steps.complete(jobs)
            linked += steps.temporaryNames(jobs)
        }
        while true {
            if !running {
                let jobs: [DeliveryJob]
                if linked.isEmpty {
                    guard let taken = submitted.take(limit: batchFileLimit, weight: weight)
                    else { return }
                    jobs = taken
                } else {
                    jobs = submitted.takePending(limit: batchFileLimit, weight: weight)
                }
                stage(jobs, steps)
                if UnsafeFlushSkips.data {
                    // Test hook: answered before any flush has reached the batch.
                    finish(jobs)
                    steps.flushRound(data: jobs, names: [])
                    steps.retire(linked)
                    linked = []
                    continue
                }
                flushing = jobs
                flush(flushing)
            }
            let next = submitted.takePending(limit: batchFileLimit, weight: weight)
            stage(next, steps)
            flusher.wait()
            running = false
            let retirable = durable.names
            let done = flushing
            FlushTrace.stamp(done, \.dataFlushed)
            flushing = next
            if !next.isEmpty || !linked.isEmpty { flush(next) }
            finish(done)
            steps.retire(retirable)
        }
    }

    /// The commit thread in `.batchedFsync` mode: rounds of flush, complete, link (see the
    /// type's doc). A round's flush runs on the flush thread while this one takes and writes
    /// the next batch, so creating files never delays a flush; with nothing written and nothing linked it waits
    /// for work, otherwise the next round starts at once with whatever has been written.
    private static func commitRounds(
        _ submitted: MaildirWorkQueue<DeliveryJob>, _ steps: MaildirDeliverySteps,
        _ flusher: MaildirFlusher
    ) {
        var linked: [DeliveryJob] = []  // in new/, their names not flushed yet
        var staged: [DeliveryJob] = []  // written, their data not flushed yet
        func stage(_ jobs: [DeliveryJob]) { Self.stage(jobs, steps) }
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

    /// Finishes everything queued (completions included), then joins the threads and lets go
    /// of the Maildir folders it kept open. Called from a completion, it cannot wait for the
    /// thread running it: the threads are detached instead (they still finish what is
    /// queued).
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
        steps.cache.removeAll()
    }
}

/// The new/ names a `.syncfs` round's flush made durable, handed from the flush thread to the
/// commit thread.
private final class FlushedNames: @unchecked Sendable {
    // @unchecked: written by the flush before `done.post`, read after `wait`.
    var names: [TemporaryName] = []
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
