import CSystem
import Glibc
import LinuxSystem

/// Enter a namespace, run, come back: the one way this module moves a thread between network
/// namespaces, used by the long-lived worker and by the threads `run(in:)` starts.
///
/// `setns` changes only the calling thread, so hops happen only on threads of this module,
/// never on a caller's thread, in async code or on a pool thread.
enum NamespaceHop {
    /// The process's own namespace, where every hop returns: that of the main thread
    /// (`/proc/self` is the thread group leader's). smtpd's `-N` moves the main thread
    /// before any other thread exists, so "home" is then the namespace it serves in.
    static let homePath = "/proc/self/ns/net"

    /// Opens the home namespace, for `perform`'s way back.
    static func openHome(path: String = homePath) throws(SystemError) -> Int32 {
        try FileSystem.open(path, O_RDONLY)
    }

    /// setns(2) into the namespace open at `fd`.
    static func enter(_ fd: Int32, _ object: String) throws(SystemError) {
        _ = try checkedCall("setns", object) { csystem_setns(fd, CSYSTEM_CLONE_NEWNET) }
    }

    /// setns(2) into the named namespace (nil: home).
    static func enter(_ namespace: String?, home: Int32) throws(SystemError) {
        guard let namespace else {
            try enter(home, homePath)
            return
        }
        let path = NetworkNamespace.path(of: namespace)
        let fd = try FileSystem.open(path, O_RDONLY)
        defer { closeDescriptor(fd) }
        try enter(fd, path)
    }

    /// Runs `body` on the calling thread inside `namespace` (nil: home) and returns the thread
    /// home, whatever `body` did to it (it may `unshare`). `entered` is the failure to get in
    /// (body did not run); `stranded` the failure to get back (the thread must not run
    /// anything else).
    static func perform(
        in namespace: String?, home: Int32, _ body: () -> Void
    ) -> (entered: SystemError?, stranded: SystemError?) {
        do {
            try enter(namespace, home: home)
        } catch {
            return (error, nil)
        }
        body()
        do {
            try enter(home, homePath)
        } catch {
            return (nil, error)
        }
        return (nil, nil)
    }
}
