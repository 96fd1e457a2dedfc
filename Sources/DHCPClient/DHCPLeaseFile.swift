public import DHCP
import Glibc
public import LinuxSystem
import Netlink

/// A lease `mlab dhcp` took, kept until `--release` gives it back: one file per interface
/// (`IF@NS.lease`) in a directory the caller names (mlab's state directory). Text, two
/// lines: `lease ADDRESS/LEN SERVER ROUTER|- MAC SECONDS` and `applied PREFIX ROUTER|-`.
public struct DHCPLeaseFile: Sendable, Equatable {
    public var lease: DHCPLease
    public var applied: DHCPApplied

    public init(lease: DHCPLease, applied: DHCPApplied) {
        self.lease = lease
        self.applied = applied
    }

    public static func path(directory: String, interface: String, namespace: String?) -> String {
        "\(directory)/\(interface)@\(namespace ?? "host").lease"
    }

    public var text: String {
        "lease " + lease.words.joined(separator: " ") + "\napplied \(applied.address) "
            + (applied.router.map(\.description) ?? "-") + "\n"
    }

    public init?(text: String) {
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard lines.count == 2, lines[0].first == "lease", lines[1].count == 3,
            lines[1][0] == "applied", let lease = DHCPLease(words: Array(lines[0].dropFirst())),
            let address = IPPrefix(lines[1][1])
        else { return nil }
        var router: IPAddress?
        if lines[1][2] != "-" {
            guard let parsed = IPAddress(lines[1][2]) else { return nil }
            router = parsed
        }
        self.init(lease: lease, applied: DHCPApplied(address: address, router: router))
    }

    /// Writes it (a temporary file renamed over: never half a lease), making `directory`.
    public func save(to path: String) throws(SystemError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty && !FileSystem.exists(directory) {
            do {
                try FileSystem.mkdir(directory, mode: 0o755)
            } catch  where error.errno == EEXIST {}
        }
        let temporary = path + ".tmp-\(getpid())"
        try FileSystem.writeFile(temporary, Array(text.utf8))
        try FileSystem.rename(temporary, path)
    }

    /// Removes the lease at `path`, and its directory once no lease is left in it: `save`
    /// made the directory, so the last release takes it away again (another lease, or
    /// anything else put there, keeps it).
    public static func remove(_ path: String) throws(SystemError) {
        try FileSystem.unlink(path)
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let directory = String(path[..<slash])
        do {
            _ = try checkedCall("rmdir", directory) { rmdir(directory) }
        } catch  where [ENOTEMPTY, EEXIST, ENOENT].contains(error.errno) {
            // Another lease (or file) is still there, or the directory went already.
        }
    }

    /// The lease at `path`; nil if there is none.
    public static func load(_ path: String) throws(SystemError) -> DHCPLeaseFile? {
        guard FileSystem.exists(path) else { return nil }
        let bytes = try FileSystem.readFile(path, limit: 1 << 16, regularOnly: true)
        guard let file = DHCPLeaseFile(text: String(decoding: bytes, as: UTF8.self)) else {
            throw SystemError("read", "\(path) (not a lease file)", errno: EINVAL)
        }
        return file
    }
}
