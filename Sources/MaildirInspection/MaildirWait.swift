import Glibc
import LinuxSystem
import MaildirDelivery

/// How ``Maildir/wait(forCount:timeout:)`` ended.
public struct MaildirWaitResult: Sendable, Hashable {
    /// Messages in new/ and cur/ when the wait ended.
    public var count: Int
    /// False when the timeout passed first.
    public var reached: Bool
}

extension Maildir {
    /// Longest sleep between two looks when inotify is not available (or the folders do not
    /// exist yet, so there is nothing to watch).
    static let pollInterval: Int32 = 20

    /// Messages in `folders` now (regular files, names not starting with "."). Throws when a
    /// folder is missing.
    public func count(
        folders: Set<MaildirFolder> = Set(MaildirFolder.allCases)
    ) throws(SystemError) -> Int {
        var total = 0
        for folder in MaildirFolder.allCases where folders.contains(folder) {
            total += try Self.folderMessages(path(of: folder), folder: folder, lenient: false).count
        }
        return total
    }

    /// Waits until new/ and cur/ hold at least `target` messages, or `timeout` passes.
    /// Returns as soon as the message that makes the count lands: inotify(7) watches both
    /// folders for files created or moved in (the writer links tmp/ → new/); without
    /// inotify, or while the Maildir does not exist yet, it looks every 20 ms. Missing folders
    /// count as empty. Throws only when a folder cannot be read for another reason.
    public func wait(forCount target: Int, timeout: Duration) throws(SystemError)
        -> MaildirWaitResult
    {
        let deadline = Self.monotonicMilliseconds() + Self.milliseconds(timeout)
        let watcher = DirectoryWatcher()
        defer { watcher?.close() }
        var watching = false
        while true {
            if let watcher, !watching { watching = watcher.watch([new, cur]) }
            let count = try countLeniently()
            if count >= target { return MaildirWaitResult(count: count, reached: true) }
            let remaining = deadline - Self.monotonicMilliseconds()
            if remaining <= 0 { return MaildirWaitResult(count: count, reached: false) }
            // A bounded wait even with inotify: file systems that do not report changes
            // (network mounts) are still seen, just later.
            let slice = Int32(min(remaining, watching ? 250 : Int64(Self.pollInterval)))
            if let watcher, watching {
                watcher.waitForEvents(milliseconds: slice)
            } else {
                var none = pollfd()
                _ = poll(&none, 0, slice)
            }
        }
    }

    func countLeniently() throws(SystemError) -> Int {
        var total = 0
        for folder in MaildirFolder.allCases {
            total += try Self.folderMessages(path(of: folder), folder: folder, lenient: true).count
        }
        return total
    }

    /// The messages of one folder, unsorted. `lenient`: a missing folder has none.
    static func folderMessages(
        _ folderPath: String, folder: MaildirFolder, lenient: Bool
    ) throws(SystemError) -> [MaildirMessage] {
        let names: [String]
        do {
            names = try FileSystem.directoryEntries(folderPath)
        } catch  where lenient && (error.errno == ENOENT || error.errno == ENOTDIR) {
            return []
        }
        var messages: [MaildirMessage] = []
        for name in names where !name.hasPrefix(".") {
            let path = folderPath + "/" + name
            guard let info = try? FileSystem.status(path), info.st_mode & S_IFMT == S_IFREG else {
                continue
            }
            messages.append(
                MaildirMessage(
                    name: name, folder: folder, path: path, size: Int64(info.st_size),
                    mtime: Int64(info.st_mtim.tv_sec),
                    mtimeNanoseconds: Int(info.st_mtim.tv_nsec)))
        }
        return messages
    }

    static func monotonicMilliseconds() -> Int64 {
        Int64(Clock.monotonicNanoseconds() / 1_000_000)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}

/// An inotify(7) descriptor watching folders for arriving files.
final class DirectoryWatcher {
    private let fd: Int32

    /// nil when inotify is not available (fd limit, kernel without it).
    init?() {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd < 0 { return nil }
    }

    /// Adds a watch per folder; false if any folder cannot be watched (yet).
    func watch(_ folders: [String]) -> Bool {
        let mask = UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)
        return folders.allSatisfy { inotify_add_watch(fd, $0, mask) >= 0 }
    }

    /// Blocks until an event arrives or `milliseconds` pass, then drains the queue.
    func waitForEvents(milliseconds: Int32) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buffer, buffer.count) > 0 {}
    }

    func close() { _ = Glibc.close(fd) }
}
