import ArgumentParser
import Glibc
import LinuxSystem

/// A verb that works on namespaces or changes links, addresses and routes: it needs
/// CAP_SYS_ADMIN (setns, the mounts of /run/netns) and CAP_NET_ADMIN (rtnetlink changes), which
/// root has. Checked once before the verb runs, so that an unprivileged user reads one line
/// saying so instead of the first system call's "Operation not permitted".
protocol PrivilegedVerb {
    /// False when this run of the verb needs no privilege (e.g. `nc` without `--netns`).
    var needsPrivileges: Bool { get }
}

extension PrivilegedVerb {
    var needsPrivileges: Bool { true }
}

enum Privileges {
    static let message = "mlab: needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN)"

    /// True when the effective capability set (`CapEff` in /proc/self/status) holds both.
    static var sufficient: Bool {
        guard let status = try? FileSystem.readFile("/proc/self/status", limit: 1 << 16) else {
            return geteuid() == 0
        }
        let text = String(decoding: status, as: UTF8.self)
        guard
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(
                line.dropFirst("CapEff:".count).trimmingPrefix(while: \.isWhitespace), radix: 16)
        else { return geteuid() == 0 }
        let sysAdmin: UInt64 = 1 << 21  // CAP_SYS_ADMIN
        let netAdmin: UInt64 = 1 << 12  // CAP_NET_ADMIN
        return mask & sysAdmin != 0 && mask & netAdmin != 0
    }
}

extension NetnsCommand.Add: PrivilegedVerb {}
extension NetnsCommand.Del: PrivilegedVerb {}
extension NetnsCommand.Exec: PrivilegedVerb {}
extension NetnsCommand.Forward: PrivilegedVerb {}
extension LabCommand.Up: PrivilegedVerb {}
extension LabCommand.Down: PrivilegedVerb {}
extension LabCommand.Status: PrivilegedVerb {}
extension LabCommand.Check: PrivilegedVerb {}
extension LabCommand.Bench: PrivilegedVerb {}
extension LinkCommand.List: PrivilegedVerb {}
extension LinkCommand.AddVeth: PrivilegedVerb {}
extension LinkCommand.AddBridge: PrivilegedVerb {}
extension LinkCommand.Del: PrivilegedVerb {}
extension LinkCommand.Up: PrivilegedVerb {}
extension LinkCommand.Down: PrivilegedVerb {}
extension LinkCommand.SetNetns: PrivilegedVerb {}
extension LinkCommand.Master: PrivilegedVerb {}
extension LinkCommand.NoMaster: PrivilegedVerb {}
extension AddrCommand.List: PrivilegedVerb {}
extension AddrCommand.Add: PrivilegedVerb {}
extension AddrCommand.Del: PrivilegedVerb {}
extension RouteCommand.List: PrivilegedVerb {}
extension RouteCommand.Add: PrivilegedVerb {}
extension RouteCommand.Del: PrivilegedVerb {}
extension BridgeCommand.Ports: PrivilegedVerb {}
extension NcCommand: PrivilegedVerb { var needsPrivileges: Bool { namespace != nil } }
extension ChatCommand: PrivilegedVerb { var needsPrivileges: Bool { namespace != nil } }
extension SendCommand: PrivilegedVerb { var needsPrivileges: Bool { namespace != nil } }
