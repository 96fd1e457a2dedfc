import LinuxSystem

/// One message file to deliver: `chunks` are written in order (writev) into a new file in
/// `maildir`. Arrays are shared, not copied: the same content chunk can go to every recipient.
public struct DeliveryItem: Sendable {
    /// Root of the Maildir: an absolute path without `.`/`..` components (else the item fails
    /// with a "maildir" EINVAL error). Created on demand, 0700.
    public var maildir: String
    public var chunks: [[UInt8]]
    /// Whom to write as (a root smtpd only): the writer thread takes on this file-system
    /// identity for the walk, the folders it makes, the file and its link into `new/`, so the
    /// kernel checks every step as that user and the files are theirs. nil: as smtpd itself.
    public var owner: FileSystemIdentity?

    public init(maildir: String, chunks: [[UInt8]], owner: FileSystemIdentity? = nil) {
        self.maildir = maildir
        self.chunks = chunks
        self.owner = owner
    }
}

/// How ``MaildirWriter`` makes file data durable before it renames files into `new/`.
public enum FlushMode: Sendable, CaseIterable {
    /// fsync each file, rename, fsync `new/`, acknowledge — one delivery call after the
    /// other, no sharing. The baseline (what OpenSMTPD and most MDAs do, plus the folder fsync).
    case perFile
    /// Group commit: write every file of all pending calls, start their writeback together,
    /// fsync them side by side (the disk cache flushes merge), link, fsync each `new/` once
    /// (with the next batch's files). Touches only the delivered files and their folders; an
    /// fsync failure fails only its own call (or the calls with a file in that `new/`).
    case batchedFsync
    /// Group commit with one syncfs(2) (plus one fsync for the cache flush) per file system
    /// instead of per-file fsyncs; the default, fastest measured. Costs: it also writes out
    /// unrelated dirty data of the same file system (a big write elsewhere delays the reply),
    /// and a failure fails every call the flush covers on that file system (two batches).
    case syncfs
}
