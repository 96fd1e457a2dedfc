import LinuxSystem

/// A directory of its own under /tmp for one test's Maildir, removed with everything in it.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws(SystemError) {
        path = try FileSystem.makeTemporaryDirectory(prefix: "maillab-test")
    }

    func remove() { FileSystem.removeTree(path) }
}
