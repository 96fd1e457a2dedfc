import Glibc
import LinuxSystem
import Reactor

/// Names and addresses of this host, found without DNS: the kit never sends a query.
public enum HostNames {
    /// The name the server gives itself: /etc/mailname (Debian), else gethostname(2),
    /// like OpenSMTPD on Debian.
    public static func serverName() -> String {
        if let mailname = readSmallFile("/etc/mailname")?.split(whereSeparator: \.isNewline).first {
            let trimmed = mailname.trimmingCharacters(in: " \t")
            if !trimmed.isEmpty { return trimmed }
        }
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, buffer.count - 1) == 0 {
            let name = String(
                decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !name.isEmpty { return name }
        }
        return "localhost"
    }

    /// The reverse name of a peer. Only loopback peers get one ("localhost"); anything else
    /// would need DNS, which the kit never uses, so it is "<unknown>" (nil) as in OpenSMTPD
    /// when a PTR lookup fails.
    public static func reverseName(of peer: SocketAddress) -> String? {
        peer.isLoopback ? "localhost" : nil
    }

    /// Addresses for `name` from /etc/hosts (never DNS).
    public static func hostsFileAddresses(for name: String, path: String = "/etc/hosts") -> [String]
    {
        guard let text = readSmallFile(path) else { return [] }
        var result: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(
                separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { continue }
            if fields.dropFirst().contains(where: { $0.lowercased() == name.lowercased() }) {
                let address = String(fields[0])
                if !result.contains(address) { result.append(address) }
            }
        }
        return result
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

/// Reads a small text file whole; nil if it cannot be read.
func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
    (try? FileSystem.readFile(path, limit: limit)).map { String(decoding: $0, as: UTF8.self) }
}
