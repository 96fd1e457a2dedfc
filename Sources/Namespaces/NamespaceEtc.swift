import CSystem
import Glibc
import LinuxSystem

extension NetworkNamespace {
    /// Gives the calling thread the namespace's own `/etc` files as `ip netns exec` does:
    /// a mount namespace of its own (`/` made rslave, so later mounts of the host still
    /// arrive), with every `/etc/netns/NAME/FILE` bound over `/etc/FILE` — above all
    /// `resolv.conf`, so that every name lookup of the process (the DNS client, getaddrinfo)
    /// asks the namespace's name servers, not the host's. Nothing is done when
    /// `/etc/netns/NAME` does not exist (then `ip netns exec` binds nothing either). Threads
    /// started afterwards inherit the mount namespace: call it before any exists (`smtpd -N`).
    /// Returns the files bound.
    ///
    /// Equivalent to: what `ip netns exec $name` does to /etc before it runs its program.
    @discardableResult
    public static func bindEtcFiles(of name: String) throws(NamespaceError) -> [String] {
        let command = "ip netns exec \(name)"
        let directory = "/etc/netns/\(name)"
        guard FileSystem.exists(directory) else { return [] }
        do throws(SystemError) {
            let entries = try FileSystem.directoryEntries(directory).sorted()
            guard !entries.isEmpty else { return [] }
            _ = try checkedCall("unshare(CLONE_NEWNS)") { csystem_unshare(CSYSTEM_CLONE_NEWNS) }
            _ = try checkedCall("mount --make-rslave /") {
                mount("", "/", "none", UInt(MS_SLAVE | MS_REC), nil)
            }
            for entry in entries {
                _ = try checkedCall("mount --bind", "\(directory)/\(entry) /etc/\(entry)") {
                    mount("\(directory)/\(entry)", "/etc/\(entry)", "none", UInt(MS_BIND), nil)
                }
            }
            return entries.map { "/etc/\($0)" }
        } catch {
            throw NamespaceError(command, error)
        }
    }
}
