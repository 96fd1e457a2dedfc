import Glibc
import LinuxSystem

/// The one place the writer changes whom it writes as: the calling thread's file-system
/// identity (``ThreadFileSystemIdentity``) for one step over a batch. It switches only when an
/// item's owner differs from the identity in effect, and `finish` returns the thread to its
/// own. A smtpd that is not root never switches (it can only write as itself).
///
/// Why a switch and not fchown after the fact: as the owner, the kernel itself checks every
/// step (the walk's search permissions, mkdir, the O_EXCL create, the link into new/), so a
/// user cannot make smtpd write anywhere the user could not; fchown would fix the owner of
/// what root was allowed to write. docs/PRIVILEGES.md.
struct MaildirActingIdentity {
    /// The thread's own identity, read at the first switch; nil until then.
    private var own: FileSystemIdentity?
    /// The owner in effect; nil: the thread's own.
    private(set) var current: FileSystemIdentity?
    private let mayActAsOthers: Bool

    init() { mayActAsOthers = geteuid() == 0 }

    /// Makes `owner` (nil: the thread's own) the identity in effect.
    mutating func act(as owner: FileSystemIdentity?) throws(SystemError) {
        guard mayActAsOthers, owner != current else { return }
        if own == nil { own = try ThreadFileSystemIdentity.current() }
        let wanted = owner == own ? nil : owner
        guard wanted != current else { return }
        guard let wanted else { return finish() }
        do {
            try ThreadFileSystemIdentity.assume(wanted)
            current = wanted
        } catch {
            // A half switch (groups changed, ids not) must not stay behind either.
            current = wanted
            finish()
            throw error
        }
    }

    /// Back to the thread's own identity. A writer thread that could not become itself again
    /// would write the next batch as a stranger: that is fatal.
    mutating func finish() {
        guard let own, current != nil else { return }
        do {
            try ThreadFileSystemIdentity.assume(own)
            current = nil
        } catch {
            preconditionFailure("MaildirWriter: cannot return to its own identity: \(error)")
        }
    }

    /// `error` as the store must answer it: a permission the owner lacks is the owner's to
    /// fix (``Maildir/deniedToOwner``, a temporary failure), not a broken installation.
    func explain(_ error: SystemError) -> SystemError {
        guard let current, error.errno == EACCES || error.errno == EPERM else { return error }
        let object = (error.object ?? error.operation) + " (as uid \(current.user))"
        return SystemError(Maildir.deniedToOwner, object, errno: error.errno)
    }
}
