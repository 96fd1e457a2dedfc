import Glibc
import LinuxSystem
import Synchronization

/// What a sweep of a Maildir's tmp/ did (``Maildir/sweepTemporaryFiles(hostname:)``).
public struct TemporarySweep: Sendable, Equatable {
    /// Whole messages moved into new/.
    public var recovered = 0
    /// Stale files removed.
    public var removed = 0
    /// Files left where they are because a step on them failed; the next sweep tries again.
    public var failures: [SystemError] = []

    public init(recovered: Int = 0, removed: Int = 0, failures: [SystemError] = []) {
        self.recovered = recovered
        self.removed = removed
        self.failures = failures
    }
}

extension OpenedMaildir {
    /// The Maildir roots this process has swept: each once, at start or at the writer's first
    /// visit, before anything of this process is in its tmp/.
    private static let swept = Mutex<Set<String>>([])

    /// True the first time it is asked for `root` in this process.
    static func claimSweep(of root: String) -> Bool {
        swept.withLock { $0.insert(root).inserted }
    }

    /// Recovers or removes what writers that are gone left in tmp/ (see
    /// ``Maildir/sweepTemporaryFiles(hostname:)``); fresh names in new/ come from `namer`.
    func sweepTemporaryFiles(namer: MaildirNamer) throws(SystemError) -> TemporarySweep {
        let folder = try FileSystem.status(tmp, path: maildir.tmp)
        let now = Int(Clock.wallTime().tv_sec)
        var sweep = TemporarySweep()
        // tmp/ names to unlink once the names made in new/ are durable, and how many each made.
        var recovered: [(name: String, made: Int)] = []
        for name in try FileSystem.directoryEntries(tmp, path: maildir.tmp) {
            let path = maildir.tmp + "/" + name
            guard let shape = MaildirNamer.Shape(name),
                let info = try? FileSystem.statusAt(tmp, name, path: path),
                info.st_mode & S_IFMT == S_IFREG,
                info.st_uid == folder.st_uid || info.st_uid == geteuid()
            else { continue }
            let old = now - Int(info.st_mtim.tv_sec) > Maildir.foreignStaleSeconds
            guard old || shape.writerHasExited else { continue }
            if let size = shape.size, !UnsafeFlushSkips.recovery,
                UnsafeFlushSkips.size || Int(info.st_size) == size
            {
                do {
                    let made = try link(name, shape, links: Int(info.st_nlink), namer: namer)
                    recovered.append((name, made))
                } catch  where error.errno == ENOENT {
                    // Gone meanwhile.
                } catch {
                    sweep.failures.append(error)
                }
                continue
            }
            do {
                try FileSystem.unlinkAt(tmp, name, path: path)
                sweep.removed += 1
            } catch  where error.errno == ENOENT {
                // Gone meanwhile.
            } catch {
                sweep.failures.append(error)
            }
        }
        guard !recovered.isEmpty else { return sweep }
        // The new names are durable before the tmp/ names go: a cut in between recovers
        // again (link refuses to replace, so at worst a duplicate), never loses.
        do {
            try FileSystem.syncFileSystem(new, path: maildir.new)
        } catch {
            sweep.failures.append(error)
            return sweep
        }
        for (name, made) in recovered {
            do {
                try FileSystem.unlinkAt(tmp, name, path: maildir.tmp + "/" + name)
            } catch  where error.errno == ENOENT {
                // Renamed on a file system without hard links, or gone meanwhile.
            } catch {
                sweep.failures.append(error)
                continue
            }
            // A file all of whose names were there already lost only a stale tmp/ name.
            if made > 0 { sweep.recovered += 1 } else { sweep.removed += 1 }
        }
        return sweep
    }

    /// Gives a whole tmp/ file the names in new/ it was meant to have: its unmarked name and
    /// `N=` fresh ones. A file with more links than its tmp/ name was linked before the cut
    /// (into new/, or moved on to cur/ by a reader): only the names still missing are made.
    /// Returns how many names it made.
    private func link(
        _ name: String, _ shape: MaildirNamer.Shape, links: Int, namer: MaildirNamer
    ) throws(SystemError) -> Int {
        let published = links > 1
        var missing = published ? max(0, shape.extraLinks + 2 - links) : shape.extraLinks + 1
        var target = published ? namer.next() : MaildirNamer.unmarked(name)
        let wanted = missing
        var attempts = 0
        while missing > 0 {
            attempts += 1
            let path = maildir.new + "/" + target
            do {
                try FileSystem.linkAt(tmp, name, new, target, path: path)
                missing -= 1
            } catch  where error.errno == EEXIST && attempts < 100 {
                // Another message has this name: never replaced, a fresh name instead.
            } catch
                where MaildirDeliverySteps.linkUnsupported.contains(error.errno)
                && !published && shape.extraLinks == 0
            {
                try FileSystem.renameAt(tmp, name, new, target, path: path)
                return 1
            }
            target = namer.next()
        }
        return wanted
    }
}
