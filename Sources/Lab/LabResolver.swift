import Glibc
import LinuxSystem
public import Netlink

/// `resolv NS nameserver ADDR [nameserver ADDR …] [search DOMAIN …]`: the resolv.conf of a
/// lab namespace, written to `/etc/netns/NS/resolv.conf` — the file `ip netns exec` (and so
/// every lab server, `mlab netns exec`, and `smtpd -N NS`) uses as `/etc/resolv.conf`. The name
/// servers must be addresses of the lab itself: a lab never points a resolver off the machine.
public struct LabResolver: Hashable, Sendable {
    /// The (renamed) namespace.
    public var namespace: String
    public var nameservers: [IPAddress]
    public var search: [String]
    public var line: Int

    public init(namespace: String, nameservers: [IPAddress], search: [String], line: Int) {
        self.namespace = namespace
        self.nameservers = nameservers
        self.search = search
        self.line = line
    }

    /// Where `ip netns exec` finds the namespace's own /etc files.
    public static func directory(of namespace: String) -> String { "/etc/netns/\(namespace)" }
    public static func path(of namespace: String) -> String {
        directory(of: namespace) + "/resolv.conf"
    }

    /// The file's text.
    public static func contents(nameservers: [IPAddress], search: [String]) -> String {
        var lines = ["# written by mlab lab up, removed by mlab lab down"]
        lines += nameservers.map { "nameserver \($0)" }
        if !search.isEmpty { lines.append("search " + search.joined(separator: " ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The file as it is now (nil: missing).
    static func current(_ namespace: String) -> String? {
        guard let bytes = try? FileSystem.readFile(path(of: namespace), limit: 1 << 16) else {
            return nil
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the file (a temporary renamed over it), making `/etc/netns/NS` if needed.
    static func write(_ namespace: String, contents: String) throws(NetlinkError) {
        let path = path(of: namespace)
        do throws(SystemError) {
            for directory in ["/etc/netns", directory(of: namespace)]
            where !FileSystem.exists(directory) {
                do {
                    try FileSystem.mkdir(directory, mode: 0o755)
                } catch  where error.errno == EEXIST {}
            }
            let temporary = path + ".mlab-\(getpid())"
            try FileSystem.writeFile(temporary, Array(contents.utf8))
            try FileSystem.rename(temporary, path)
        } catch {
            throw NetlinkError(operation: "write \(path)", errno: error.errno)
        }
    }

    /// Removes the file, and `/etc/netns/NS` if nothing else is in it (`/etc/netns` stays).
    static func remove(_ namespace: String) throws(NetlinkError) {
        let path = path(of: namespace)
        do {
            try FileSystem.unlink(path)
        } catch  where error.errno == ENOENT {
        } catch {
            throw NetlinkError(operation: "rm \(path)", errno: error.errno)
        }
        _ = rmdir(directory(of: namespace))  // ENOTEMPTY: the user's files stay
    }
}
