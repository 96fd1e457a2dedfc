import Foundation
import Glibc

/// powercut-fs failed to start.
public struct PowerCutMountError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// powercut-fs over a backing folder, mounted until ``unmount()``.
public final class PowerCutMount: Sendable {
    public let mountpoint: String
    public let logPath: String
    private let process: ChildProcess

    /// `metadata`: powercut-fs's COMMIT_MS; `cutAtFlush`: its CUT_AT_FLUSH (0: none).
    public init(
        backing: String, mountpoint: String, metadata: String, cutAtFlush: Int, log: String
    )
        throws
    {
        self.mountpoint = mountpoint
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = try ChildProcess(
            ExternalTool.powercutFS.path, [backing, metadata, String(cutAtFlush), mountpoint],
            output: .file(log), errors: .file(log))
        self.process = process
        // Mounted once the mount point is on another device than its parent (not read from
        // /proc/self/mounts: other tests' namespace mounts can make that long, and a
        // size-0 /proc file is not a reliable read).
        var parent = stat()
        let parentPath = (mountpoint as NSString).deletingLastPathComponent
        guard stat(parentPath, &parent) == 0 else {
            unmount()
            throw PowerCutMountError(message: "stat \(parentPath): errno \(errno)")
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && process.isRunning {
            var info = stat()
            if stat(mountpoint, &info) == 0 && info.st_dev != parent.st_dev { return }
            usleep(10_000)
        }
        let status = process.exitStatus
        unmount()
        throw PowerCutMountError(
            message: "powercut-fs did not mount \(mountpoint) within 20 s (daemon "
                + (status.map { "exited: \($0)" } ?? "still running") + "): "
                + self.log)
    }

    public var log: String {
        String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
    }

    /// The power cut: one request, after which the file system answers nothing but EIO.
    public func powerOff() {
        _ = Self.request(mountpoint, "user.powercut.off")  // EIO once it is off
    }

    /// Makes the entries of `folder` (a path under the mount point) durable on their own, as
    /// a file system without a journal writes one directory block back; true if done.
    @discardableResult
    public func writeBack(_ folder: String) -> Bool {
        Self.request(folder, "user.powercut.writeback")
    }

    /// One control request (a setxattr) on `path`.
    private static func request(_ path: String, _ name: String) -> Bool {
        // Glibc's module does not import sys/xattr.h.
        typealias SetXattr =
            @convention(c) (
                UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer, Int, Int32
            ) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setxattr") else {
            fatalError("setxattr not found")
        }
        let setxattr = unsafeBitCast(symbol, to: SetXattr.self)
        return setxattr(path, name, "1", 1, 0) == 0
    }

    /// Detaches the mount and waits for the daemon (SIGKILL after 5 s). Idempotent.
    public func unmount() {
        _ = umount2(mountpoint, Int32(MNT_DETACH))
        if process.wait(timeout: 5) == nil { process.kill() }
    }
}
