import Glibc
import LinuxSystem
import Synchronization

/// Durable Maildir delivery off the event loop, with group commit.
///
/// A delivery is: create a uniquely named file in `tmp/` (O_EXCL, 0600), writev the chunks,
/// flush the data, rename into `new/`, flush `new/`, and only then report success. A crash at
/// any point leaves either nothing in `new/` or the whole message.
///
/// Two threads form a pipeline. The writer thread takes *all* pending calls as one batch,
/// writes their files, flushes their data together and renames them into `new/`; the flush
/// thread then fsyncs each distinct `new/` once for everything the writer handed over meanwhile
/// and runs all completions (failed calls too, so that completions never run on the writer
/// thread and a `shutdown` from a completion cannot wait for itself). While the flush thread
/// waits for the disk, the writer already works on the next batch, so the flushes of
/// consecutive batches overlap (on a journalled file system they share commits).
/// In `.perFile` mode the writer thread does everything, one call at a time.
///
/// The default is `.syncfs`, the fastest of the three modes measured (BENCHMARKS.md,
/// "Figures behind code choices", with the cost of creating files in a folder where many
/// were recently deleted).
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
        let pool = MaildirFsyncPool(threads: Self.fsyncThreads)
        let steps = MaildirDeliverySteps(
            hostname: hostname, mode: flushMode, pool: pool, faults: faults)
        let flusher = steps
        self.steps = steps
        let written = MaildirWorkQueue<[DeliveryJob]>()
        threads = Mutex([
            Self.startThread("maildir-writer") {
                while let jobs = submitted.take(
                    limit: Self.batchFileLimit,
                    weight: { max($0.items.count + $0.files.count, 1) })
                {
                    FlushTrace.taken(jobs)
                    steps.write(jobs)
                    steps.flushData(jobs)
                    FlushTrace.stamp(jobs, \.dataFlushed)
                    steps.publish(jobs)
                    FlushTrace.stamp(jobs, \.linked)
                    _ = written.put(jobs)
                }
                written.close()
            },
            Self.startThread("maildir-flush") {
                while let batches = written.take() {
                    let jobs = batches.flatMap { $0 }
                    FlushTrace.stamp(jobs, \.namesStarted)
                    flusher.flushFolders(jobs)
                    FlushTrace.stamp(jobs, \.namesFlushed)
                    flusher.complete(jobs)
                }
                pool.shutdown()
            },
        ])
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
    /// a completion, it cannot wait for the thread running it: that one is detached instead.
    public func shutdown() {
        submitted.close()
        let running = threads.withLock { threads in
            defer { threads = [] }
            return threads
        }
        for thread in running {
            if pthread_equal(thread, pthread_self()) != 0 {
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
