import Glibc
import LinuxSystem
import Synchronization

/// Test hook: an errno to fail a step with, chosen by operation and path (nil: run it).
typealias MaildirFaults = @Sendable (_ operation: String, _ path: String) -> Int32?

/// One `deliver` call on its way through the writer: its files and its first failure.
/// Owned by one thread at a time; handed between threads only through a MaildirWorkQueue.
final class DeliveryJob: @unchecked Sendable {
    let items: [DeliveryItem]
    let completion: @Sendable (Result<[String], SystemError>) -> Void
    var files: [StagedFile] = []
    /// A streamed delivery's files come written (`items` is empty): for each of its targets,
    /// which file and which of its names in new/ (0: `newName`, k: `links[k - 1]`).
    let placement: [(file: Int, name: Int)]?
    private(set) var failure: SystemError?
    /// A streamed delivery's last bytes, for `write` to append to each of its files.
    var tail: [UInt8] = []
    /// Its way through the writer, with ``FlushTrace`` on.
    var stamps = FlushStamps()

    init(
        items: [DeliveryItem],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        self.items = items
        self.completion = completion
        placement = nil
    }

    /// A job for files already written in tmp/ (`MaildirStream`), and its first failure.
    init(
        staged: [StagedFile], placement: [(file: Int, name: Int)], failure: SystemError?,
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        items = []
        files = staged
        self.placement = placement
        self.completion = completion
        if let failure { fail(failure) }
    }

    var isAlive: Bool { failure == nil }

    /// Records the first failure and takes back everything this job wrote: closes its files,
    /// unlinks them from tmp/ or, if already renamed, from new/.
    func fail(_ error: SystemError) {
        guard failure == nil else { return }
        failure = error
        for index in files.indices {
            files[index].closeIgnoringErrors()
            let file = files[index]
            if file.isPublished { _ = Glibc.unlinkat(file.folders.new, file.newName, 0) }
            for link in file.links { _ = Glibc.unlinkat(file.folders.new, link, 0) }
            _ = Glibc.unlinkat(file.folders.tmp, file.name, 0)
        }
    }

    func complete() {
        if let failure {
            completion(.failure(failure))
        } else if let placement {
            completion(.success(placement.map { files[$0.file].newPath(name: $0.name) }))
        } else {
            completion(.success(files.map(\.newPath)))
        }
    }
}

/// A delivered file's tmp/ name in `.syncfs` mode, kept until a flush has made its new/
/// names durable (``MaildirDeliverySteps/retire(_:)``).
struct TemporaryName: @unchecked Sendable {
    // @unchecked: handed between the commit and flush threads only with a flush's start
    // and end, which order every access.
    let folders: OpenedMaildir
    let name: String
    let owner: FileSystemIdentity?
    let device: UInt64
}

/// The order in which the writer's descriptors were opened: a syncfs reports the write-back
/// errors seen since its descriptor was opened, so a flush uses the earliest-opened
/// descriptor among those of everything it covers (each taken just after its open, before
/// anything it stands for was written).
enum OpenOrder {
    private static let counter = Atomic<UInt64>(0)

    static func next() -> UInt64 { counter.add(1, ordering: .relaxed).newValue }
}

/// A message file written in tmp/ and, once published, linked into new/.
struct StagedFile {
    /// The Maildir's opened folders: every step on this file is relative to them.
    let folders: OpenedMaildir
    /// The name in tmp/: once the file holds all its bytes, a marked one
    /// (``MaildirNamer/marked(_:size:extraLinks:)``).
    var name: String
    /// The name in new/: `name` without its markers, unless a file of that name was already
    /// there.
    var newName: String
    var descriptor: Int32
    let device: UInt64
    /// Whom it is written and linked as (``DeliveryItem/owner``).
    let owner: FileSystemIdentity?
    var isPublished = false
    /// Further names in new/ for the same file: recipients of one Maildir whose stored form
    /// is the same share one file by hard links.
    var links: [String] = []
    /// How many further names `publish` links (a streamed file's identical recipients).
    var extraLinks = 0
    /// When `descriptor` was opened, in ``OpenOrder``.
    let opened = OpenOrder.next()

    init(
        folders: OpenedMaildir, name: String, descriptor: Int32, device: UInt64,
        owner: FileSystemIdentity? = nil
    ) {
        self.folders = folders
        self.owner = owner
        self.name = name
        self.newName = MaildirNamer.unmarked(name)
        self.descriptor = descriptor
        self.device = device
    }

    var maildir: Maildir { folders.maildir }
    var tmpPath: String { maildir.tmp + "/" + name }
    var newPath: String { maildir.new + "/" + newName }
    func newPath(name: Int) -> String {
        maildir.new + "/" + (name == 0 ? newName : links[name - 1])
    }

    mutating func closeIgnoringErrors() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }
}

/// The steps of a delivery, in order: `write`, `flushData`, `publish` (writer stage), then
/// `flushFolders` and `complete` (flush stage); in `.batchedFsync` mode `write`, `flushRound`
/// (which flushes this batch's data and the previous batch's names), `publish`, and
/// `complete` one round later; in `.syncfs` mode `write`, `flushRound` (this batch's data
/// and tmp/ names), `publish` and `complete`. Each step works on a whole batch of jobs so
/// that one flush serves them all; a failure fails only the jobs it touches.
struct MaildirDeliverySteps {
    let namer: MaildirNamer
    let mode: FlushMode
    /// Runs the fsyncs of a batch side by side (not in `.perFile` mode, the baseline).
    let pool: MaildirFsyncPool?
    /// Test hook: fails a step (by operation and path) with the errno it returns.
    let faults: MaildirFaults?
    /// The Maildirs walked to, kept while their paths lead there.
    let cache = OpenedMaildirCache()

    init(hostname: String, mode: FlushMode, pool: MaildirFsyncPool?, faults: MaildirFaults?) {
        namer = MaildirNamer(hostname: hostname)
        self.mode = mode
        self.pool = pool
        self.faults = faults
    }

    private func inject(_ operation: String, _ path: String) throws(SystemError) {
        if let errno = faults?(operation, path) {
            throw SystemError(operation, path, errno: errno)
        }
    }

    // MARK: writer stage

    /// Creates and writes one tmp/ file per item, and appends a streamed job's tail to its
    /// files; files stay open for the flush.
    /// Each Maildir is looked up once per batch (`OpenedMaildirCache`: walked to the first
    /// time, checked by three `lstat`s after); its folders stay open for the batch's later
    /// steps.
    /// Each item's walk and file are made as its owner (``MaildirActingIdentity``).
    func write(_ jobs: [DeliveryJob]) {
        var opened: [OpenedKey: OpenedMaildir] = [:]
        var identity = MaildirActingIdentity()
        defer { identity.finish() }
        for job in jobs {
            if job.placement != nil && job.isAlive {
                for index in job.files.indices {
                    do {
                        let file = job.files[index]
                        if !job.tail.isEmpty {
                            try inject("write", file.tmpPath)
                            try FileSystem.writeAll(
                                file.descriptor, [job.tail], path: file.tmpPath)
                        }
                        try identity.act(as: file.owner)
                        try mark(&job.files[index])
                    } catch {
                        let explained = identity.explain(error)
                        identity.finish()
                        job.fail(explained)
                        break
                    }
                }
                job.tail = []
            }
            for item in job.items {
                do {
                    try identity.act(as: item.owner)
                    let size = item.chunks.reduce(0) { $0 + $1.count }
                    let file = try create(
                        in: Maildir(root: item.maildir), owner: item.owner, size: size,
                        opened: &opened)
                    job.files.append(file)  // from here on, job.fail closes and unlinks it
                    try inject("write", file.tmpPath)
                    try FileSystem.writeAll(file.descriptor, item.chunks, path: file.tmpPath)
                } catch {
                    // The undo runs as smtpd: the job's other files may be another owner's.
                    let explained = identity.explain(error)
                    identity.finish()
                    job.fail(explained)
                    break
                }
            }
        }
    }

    /// Renames a streamed file, now whole, to its marked name in tmp/: its size and the
    /// further names it gets in new/, for start-up recovery.
    private func mark(_ file: inout StagedFile) throws(SystemError) {
        let size = Int(try FileSystem.status(file.descriptor, path: file.tmpPath).st_size)
        let marked = MaildirNamer.marked(file.name, size: size, extraLinks: file.extraLinks)
        try inject("rename", file.maildir.tmp + "/" + marked)
        try FileSystem.renameAt(
            file.folders.tmp, file.name, file.folders.tmp, marked,
            path: file.maildir.tmp + "/" + marked)
        file.name = marked
    }

    /// A Maildir opened once per batch for each owner that writes there.
    struct OpenedKey: Hashable {
        let root: String
        let owner: FileSystemIdentity?
    }

    /// Makes the data of every live job's files durable, one fsync each (side by side on the
    /// pool in `.batchedFsync` mode), then closes them. (`.syncfs` flushes in `flushRound`.)
    func flushData(_ jobs: [DeliveryJob]) {
        let live = jobs.filter(\.isAlive)
        if !UnsafeFlushSkips.data {  // the test hook leaves the data unflushed
            if mode == .batchedFsync {
                for job in live {
                    for file in job.files { FileSystem.startWriteback(file.descriptor) }
                }
            }
            let targets = live.flatMap { job in job.files.map { (job, $0.descriptor, $0.tmpPath) } }
            let results = fsyncAll(targets.map { ($0.1, $0.2) })
            for (target, failure) in zip(targets, results) {
                if let failure { target.0.fail(failure) }
            }
        }
        closeFiles(live)
    }

    /// Closes the live jobs' files after their flush; a failed close fails its job.
    private func closeFiles(_ jobs: [DeliveryJob]) {
        for job in jobs where job.isAlive {
            for index in job.files.indices {
                let file = job.files[index]
                job.files[index].descriptor = -1
                do {
                    try closeChecked(file.descriptor, file.tmpPath)
                } catch {
                    job.fail(error)
                    break
                }
            }
        }
    }

    /// The one flush of a commit round (`MaildirWriter`). `.syncfs`: per file system, one
    /// syncfs that makes durable the data and tmp/ names of `data`'s files, before their
    /// completion (`names` is empty: new/ entries need no flush before the 250, start-up
    /// recovery makes them from tmp/), and the new/ names of files delivered earlier
    /// (`retiring`); then closes `data`'s files. A failed flush fails every job it covers on
    /// that file system. Returns the `retiring` names whose flush succeeded: their tmp/ names
    /// may go. `.batchedFsync`: see `fsyncRound`. The test hook `UnsafeFlushSkips.data`
    /// leaves `data` uncovered (still closed).
    @discardableResult
    func flushRound(
        data: [DeliveryJob], names: [DeliveryJob], retiring: [TemporaryName] = []
    ) -> [TemporaryName] {
        if mode != .syncfs {
            fsyncRound(data: data, names: names)
            return []
        }
        struct Flush {
            var descriptor: Int32
            var path: String
            var opened: UInt64
            /// Every path the flush stands for, for the fault hook.
            var covered: [String]
            var jobs: [DeliveryJob]
        }
        var flushes: [UInt64: Flush] = [:]
        let written = data.filter(\.isAlive)
        if !UnsafeFlushSkips.data {
            for job in written {
                for file in job.files {
                    // The earliest-opened file: it reports every write-back error since.
                    if var flush = flushes[file.device] {
                        if file.opened < flush.opened {
                            (flush.descriptor, flush.path, flush.opened) =
                                (file.descriptor, file.tmpPath, file.opened)
                        }
                        flush.covered.append(file.tmpPath)
                        if flush.jobs.last !== job { flush.jobs.append(job) }
                        flushes[file.device] = flush
                    } else {
                        flushes[file.device] = Flush(
                            descriptor: file.descriptor, path: file.tmpPath,
                            opened: file.opened, covered: [file.tmpPath], jobs: [job])
                    }
                }
            }
        }
        // Delivered files' new/ names: on a file system no data file of this round is on,
        // their new/ folder's descriptor carries the syncfs.
        var folders: Set<String> = []
        for name in retiring where folders.insert(name.folders.maildir.new).inserted {
            var flush =
                flushes[name.device]
                ?? Flush(
                    descriptor: name.folders.new, path: name.folders.maildir.new, opened: 0,
                    covered: [], jobs: [])
            flush.covered.append(name.folders.maildir.new)
            flushes[name.device] = flush
        }
        var failed: Set<UInt64> = []
        for (device, flush) in flushes {
            do {
                for path in flush.covered { try inject("syncfs", path) }
                try FileSystem.syncFileSystem(flush.descriptor, path: flush.path)
            } catch {
                failed.insert(device)
                for job in flush.jobs { job.fail(error) }
            }
        }
        closeFiles(written)
        return retiring.filter { !failed.contains($0.device) }
    }

    /// `.batchedFsync` mode's round: every file of `data` and every distinct new/ of `names`
    /// fsynced side by side (the block layer merges their cache flushes into about one),
    /// touching only the delivered files and their folders. A failed fsync fails its own job,
    /// or every job with a file in that new/.
    private func fsyncRound(data: [DeliveryJob], names: [DeliveryJob]) {
        let written = data.filter(\.isAlive)
        var targets: [(descriptor: Int32, path: String)] = []
        var owners: [[DeliveryJob]] = []
        if !UnsafeFlushSkips.data {
            for job in written {
                for file in job.files {
                    FileSystem.startWriteback(file.descriptor)
                    targets.append((file.descriptor, file.tmpPath))
                    owners.append([job])
                }
            }
        }
        var folders: [String: Int] = [:]
        for job in names where job.isAlive {
            for file in job.files {
                if let index = folders[file.maildir.new] {
                    if owners[index].last !== job { owners[index].append(job) }
                } else {
                    folders[file.maildir.new] = targets.count
                    targets.append((file.folders.new, file.maildir.new))
                    owners.append([job])
                }
            }
        }
        for (failure, jobs) in zip(fsyncAll(targets), owners) {
            if let failure { for job in jobs { job.fail(failure) } }
        }
        closeFiles(written)
    }

    /// Moves every live job's files from tmp/ into new/: link(2), then unlink the tmp/ name.
    /// Unlike rename(2), link never replaces a message already in new/ under the same name
    /// (clock stepped back, pid reused): on EEXIST the file gets a fresh name (as qmail does).
    /// Each link is made as the file's owner: a new/ its owner may not write is refused.
    func publish(_ jobs: [DeliveryJob]) {
        var identity = MaildirActingIdentity()
        defer { identity.finish() }
        for job in jobs where job.isAlive {
            for index in job.files.indices {
                do {
                    try identity.act(as: job.files[index].owner)
                    try publish(&job.files[index])
                } catch {
                    let explained = identity.explain(error)
                    identity.finish()
                    job.fail(explained)
                    break
                }
            }
        }
    }

    private func publish(_ file: inout StagedFile) throws(SystemError) {
        var attempts = 0
        while true {
            attempts += 1
            do {
                try inject("link", file.newPath)
                try FileSystem.linkAt(
                    file.folders.tmp, file.name, file.folders.new, file.newName,
                    path: file.newPath)
                break
            } catch  where error.errno == EEXIST && attempts < 100 {
                file.newName = namer.next()
            } catch  where Self.linkUnsupported.contains(error.errno) {
                // A file system without hard links: rename, which cannot refuse to replace.
                try FileSystem.renameAt(
                    file.folders.tmp, file.name, file.folders.new, file.newName,
                    path: file.newPath)
                break
            }
        }
        file.isPublished = true
        attempts = 0
        while file.links.count < file.extraLinks {
            attempts += 1
            let name = namer.next()
            do {
                try inject("link", file.maildir.new + "/" + name)
                try FileSystem.linkAt(
                    file.folders.tmp, file.name, file.folders.new, name,
                    path: file.maildir.new + "/" + name)
                file.links.append(name)
            } catch  where error.errno == EEXIST && attempts < 100 {
                continue  // a fresh name, as above
            }
        }
        // In `.syncfs` mode the tmp/ name stays until a flush has made the new/ names durable
        // (`retire`): nothing orders the two folders' writes on the way to the disk (ext4
        // without a journal, ext2), and an unlink durable before its link would lose an
        // acknowledged message. The fsync modes flush new/ before the 250: a cut before
        // that loses only what was never acknowledged.
        if mode != .syncfs { _ = Glibc.unlinkat(file.folders.tmp, file.name, 0) }
    }

    /// The tmp/ names of `jobs`' delivered files (`.syncfs` mode), for `retire` once a flush
    /// has covered their new/ names.
    func temporaryNames(_ jobs: [DeliveryJob]) -> [TemporaryName] {
        guard mode == .syncfs else { return [] }
        return jobs.filter(\.isAlive).flatMap { job in
            job.files.filter(\.isPublished).map {
                TemporaryName(
                    folders: $0.folders, name: $0.name, owner: $0.owner, device: $0.device)
            }
        }
    }

    /// Unlinks tmp/ names whose new/ names a flush has made durable (as their owners, as
    /// `publish` linked them). A name left behind by a failure is the start-up sweep's: the
    /// file already has its names in new/, and gets none more.
    func retire(_ names: [TemporaryName]) {
        var identity = MaildirActingIdentity()
        defer { identity.finish() }
        for name in names {
            guard (try? identity.act(as: name.owner)) != nil else {
                identity.finish()
                continue
            }
            _ = Glibc.unlinkat(name.folders.tmp, name.name, 0)
        }
    }

    /// link(2) errnos that mean "no hard links here" rather than a failure.
    static let linkUnsupported: Set<Int32> = [EPERM, EOPNOTSUPP, ENOSYS]

    // MARK: flush stage

    /// Makes the new/ entries durable: each distinct new/ folder fsynced once (the fsync
    /// modes; `.syncfs` flushes in `flushRound`). A failed flush fails every job with a file
    /// there.
    func flushFolders(_ jobs: [DeliveryJob]) {
        // The new/ descriptors the writer opened: nothing to open or walk again here.
        var opened: [(descriptor: Int32, path: String)] = []
        var seen: Set<String> = []
        var failures: [(String, SystemError)] = []
        for job in jobs where job.isAlive {
            for file in job.files where seen.insert(file.maildir.new).inserted {
                opened.append((file.folders.new, file.maildir.new))
            }
        }
        if !UnsafeFlushSkips.folders {  // the test hook leaves new/ unflushed
            for (folder, failure) in zip(opened, fsyncAll(opened)) {
                if let failure { failures.append((folder.path, failure)) }
            }
        }
        // XXX: the undo (unlink from new/) is not flushed itself; after a crash right here an
        // unacknowledged message may survive in new/ (a duplicate later, never a loss).
        for (folder, error) in failures {
            for job in jobs where job.files.contains(where: { $0.maildir.new == folder }) {
                job.fail(error)
            }
        }
    }

    /// fsync of each target: side by side on the pool, or one after the other without one.
    private func fsyncAll(_ targets: [(descriptor: Int32, path: String)]) -> [SystemError?] {
        if let faults {
            return targets.map { target in
                faults("fsync", target.path).map {
                    SystemError("fsync", target.path, errno: $0)
                } ?? fsyncFailure(target.descriptor, path: target.path)
            }
        }
        if let pool { return pool.fsyncAll(targets) }
        return targets.map { fsyncFailure($0.descriptor, path: $0.path) }
    }

    /// Runs the completion of every job.
    func complete(_ jobs: [DeliveryJob]) {
        for job in jobs {
            job.complete()
            job.stamps.completed = FlushTrace.now()
        }
        FlushTrace.emitJobs(jobs)
    }

    // MARK: files

    /// Opens a new, uniquely named file in the Maildir's tmp/, walking to the Maildir and
    /// preparing it first (once, then only while `OpenedMaildirCache` finds its paths no
    /// longer lead to the folders it opened; again if its folders vanished meanwhile). The file
    /// gets the Maildir owner's ownership (`OpenedMaildir.owner`). With the `size` the file
    /// will have once written, its name is marked with it from the start (a streamed file's
    /// is marked when it is whole, `mark`). The first visit of a Maildir in this process
    /// sweeps its tmp/ (``Maildir/sweepTemporaryFiles(hostname:)``): a Maildir that no
    /// start-up sweep knew, such as one in a home, is recovered too.
    func create(
        in maildir: Maildir, owner: FileSystemIdentity?, size: Int? = nil,
        opened: inout [OpenedKey: OpenedMaildir]
    ) throws(SystemError) -> StagedFile {
        let key = OpenedKey(root: maildir.root, owner: owner)
        var folders: OpenedMaildir
        if let known = opened[key] {
            folders = known
        } else {
            folders = try cache.open(maildir, key: key)
            opened[key] = folders
            if OpenedMaildir.claimSweep(of: maildir.root) {
                // Failures stay for the next start: this delivery does not depend on them.
                _ = try? folders.sweepTemporaryFiles(namer: namer)
            }
        }
        var attempts = 0
        while true {
            attempts += 1
            let name =
                size.map { MaildirNamer.marked(namer.next(), size: $0, extraLinks: 0) }
                ?? namer.next()
            let path = maildir.tmp + "/" + name
            do throws(SystemError) {
                try inject("open", path)
                let descriptor = try FileSystem.openAt(
                    folders.tmp, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW,
                    mode: Maildir.fileMode, path: path)
                let device: UInt64
                do {
                    if let owner = folders.owner {
                        try FileSystem.changeOwner(
                            descriptor, user: owner.user, group: owner.group, path: path)
                    }
                    device = UInt64(try FileSystem.status(descriptor, path: path).st_dev)
                } catch {
                    _ = Glibc.close(descriptor)
                    _ = Glibc.unlinkat(folders.tmp, name, 0)
                    throw error
                }
                return StagedFile(
                    folders: folders, name: name, descriptor: descriptor, device: device,
                    owner: owner)
            } catch  where error.errno == EEXIST && attempts < 100 {
                continue  // never reuse a name: take the next sequence number
            } catch  where error.errno == ENOENT && attempts == 1 {
                // tmp/ was removed since the walk (an unlinked folder takes no new files).
                folders = try cache.open(maildir, key: key, fresh: true)
                opened[key] = folders
            }
        }
    }
}
