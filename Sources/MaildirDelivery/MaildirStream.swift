import Glibc
import LinuxSystem

/// One recipient of a streamed delivery: its Maildir and the bytes its file starts with
/// (`Return-Path:`, `Delivered-To:`), before the content all recipients share.
public struct StreamTarget: Sendable, Hashable {
    public var maildir: String
    public var prefix: [UInt8]
    /// Whom the file is created and linked as (``DeliveryItem/owner``); nil: smtpd itself.
    public var owner: FileSystemIdentity?

    public init(maildir: String, prefix: [UInt8], owner: FileSystemIdentity? = nil) {
        self.maildir = maildir
        self.prefix = prefix
        self.owner = owner
    }
}

/// A delivery whose content is written while it arrives (``MaildirWriter/begin(_:)``), so no
/// message is ever held whole in memory. The boundary a privilege split can put across a
/// socket pair: the caller only ever sees `descriptors` to write to, `write`, `commit` and
/// `abort`; the walk to the Maildirs, the names, link and the flushes stay behind it.
///
/// One file per distinct stored form: targets of one Maildir with the same prefix share one
/// file, linked into new/ under a name each. A failure while writing is kept and reported
/// by `commit`, so the client is answered after its final dot as before. `commit` and
/// `abort` end the stream; a stream dropped without either is aborted. Owned by one thread.
public final class MaildirStream: @unchecked Sendable {
    // @unchecked: owned by one thread at a time (the session's loop or stream writer, then
    // the Maildir writer).
    private let writer: MaildirWriter
    private var files: [StagedFile]
    private let placement: [(file: Int, name: Int)]
    private var failure: SystemError?
    private var finished = false

    init(
        writer: MaildirWriter, files: [StagedFile], placement: [(file: Int, name: Int)],
        failure: SystemError?
    ) {
        self.writer = writer
        self.files = files
        self.placement = placement
        self.failure = failure
    }

    deinit { if !finished { abort() } }

    /// The tmp/ files' descriptors, one per distinct stored form (what a privilege split
    /// would pass with SCM_RIGHTS).
    public var descriptors: [Int32] { files.map(\.descriptor) }

    /// The first failure so far (the walk, a create, a write): `commit` reports it.
    public var failed: SystemError? { failure }

    /// Appends `bytes` to every file. After a failure nothing more is written.
    public func write(_ bytes: [UInt8]) {
        guard failure == nil, !finished, !bytes.isEmpty else { return }
        for file in files {
            do {
                try inject("write", file.tmpPath)
                try FileSystem.writeAll(file.descriptor, [bytes], path: file.tmpPath)
            } catch {
                failure = error
                return
            }
        }
    }

    /// Flushes the files and publishes them in new/, as ``MaildirWriter/deliver(_:completion:)``
    /// does (group commit): `completion` runs on a writer thread with each target's path in
    /// new/, in target order, once data and new/ entries are durable. On failure nothing of
    /// the stream is left in tmp/ or new/.
    public func commit(completion: @escaping @Sendable (Result<[String], SystemError>) -> Void) {
        commit(appending: [], completion: completion)
    }

    /// `write(tail)` and `commit`, with the tail written by the writer's thread just before
    /// the flush: the caller (a session's loop) hands the last bytes over with the commit and
    /// never waits for the disk, and no thread in between has to pass them on.
    public func commit(
        appending tail: [UInt8],
        completion: @escaping @Sendable (Result<[String], SystemError>) -> Void
    ) {
        guard !finished else { return }
        finished = true
        if files.isEmpty {
            completion(failure.map { .failure($0) } ?? .success([]))
            return
        }
        let job = DeliveryJob(
            staged: files, placement: placement, failure: failure, completion: completion)
        job.tail = tail
        files = []
        if failure != nil {
            job.complete()  // `fail` took the files back already
        } else if !writer.submit(job) {
            job.fail(SystemError("deliver", "", errno: ESHUTDOWN))
            job.complete()
        }
    }

    /// Closes and removes the files: nothing of the message stays in tmp/.
    public func abort() {
        finished = true
        for index in files.indices {
            files[index].closeIgnoringErrors()
            _ = Glibc.unlinkat(files[index].folders.tmp, files[index].name, 0)
        }
        files = []
    }

    private func inject(_ operation: String, _ path: String) throws(SystemError) {
        if let errno = writer.steps.faults?(operation, path) {
            throw SystemError(operation, path, errno: errno)
        }
    }
}

extension MaildirWriter {
    /// Opens the files of a streamed delivery: for each distinct (Maildir, prefix) a new file
    /// in that Maildir's tmp/ with the prefix written. Runs on the caller's thread (a walk and
    /// an O_EXCL create per file, no flush unless a folder has to be made). A failure is
    /// kept in the stream (its files so far removed) and reported by `commit`.
    public func begin(_ targets: [StreamTarget]) -> MaildirStream {
        var files: [StagedFile] = []
        var placement: [(file: Int, name: Int)] = []
        var byForm: [StreamTarget: Int] = [:]
        var opened: [MaildirDeliverySteps.OpenedKey: OpenedMaildir] = [:]
        // Walks and creates as each target's owner, as the writer's `write` does.
        var identity = MaildirActingIdentity()
        defer { identity.finish() }
        do throws(SystemError) {
            for target in targets {
                if let index = byForm[target] {
                    files[index].extraLinks += 1
                    placement.append((index, files[index].extraLinks))
                    continue
                }
                let file: StagedFile
                do throws(SystemError) {
                    try identity.act(as: target.owner)
                    file = try steps.create(
                        in: Maildir(root: target.maildir), owner: target.owner, opened: &opened)
                } catch {
                    throw identity.explain(error)
                }
                files.append(file)
                byForm[target] = files.count - 1
                placement.append((files.count - 1, 0))
                if let errno = steps.faults?("write", file.tmpPath) {
                    throw SystemError("write", file.tmpPath, errno: errno)
                }
                try FileSystem.writeAll(file.descriptor, [target.prefix], path: file.tmpPath)
            }
        } catch {
            // The undo runs as smtpd: the files so far may be another owner's.
            identity.finish()
            let stream = MaildirStream(writer: self, files: files, placement: [], failure: error)
            stream.abort()
            return MaildirStream(writer: self, files: [], placement: [], failure: error)
        }
        return MaildirStream(writer: self, files: files, placement: placement, failure: nil)
    }
}
