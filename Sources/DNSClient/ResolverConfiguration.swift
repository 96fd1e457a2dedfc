import Glibc
public import LinuxSystem

/// One line of a resolv.conf that glibc would skip, as `FILE:LINE: message`.
public struct ResolverConfigurationDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// What `/etc/resolv.conf` says (resolv.conf(5), as glibc reads it): up to three name
/// servers, the search list and the options `ndots`, `timeout` and `attempts`. Lines glibc
/// ignores are ignored here too, and reported as diagnostics.
public struct ResolverConfiguration: Sendable, Equatable {
    /// The servers to ask, port 53, in file order (glibc's MAXNS: the first three).
    public var nameservers: [SocketAddress]
    /// Domains tried after a name with fewer than `ndots` dots (`search`, or `domain`).
    public var search: [String] = []
    public var ndots = 1
    /// Seconds to wait for one server's answer to one query.
    public var timeout = 5
    /// Rounds over all servers before giving up.
    public var attempts = 2

    /// glibc's limits: MAXNS, RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY.
    public static let maximumNameservers = 3
    public static let maximumNdots = 15
    public static let maximumTimeout = 30
    public static let maximumAttempts = 5

    /// Without a `nameserver` line glibc asks the local host.
    public static let defaultNameserver = SocketAddress.v4(host: "127.0.0.1", port: 53)

    public init(nameservers: [SocketAddress], search: [String] = []) {
        self.nameservers = nameservers
        self.search = search
    }

    /// Parses resolv.conf text; `file` names it in diagnostics. Later `search`/`domain`
    /// lines replace earlier ones, as in glibc.
    public static func parse(_ text: String, file: String) -> (
        ResolverConfiguration, [ResolverConfigurationDiagnostic]
    ) {
        var configuration = ResolverConfiguration(nameservers: [])
        var diagnostics: [ResolverConfigurationDiagnostic] = []
        func warn(_ line: Int, _ message: String) {
            diagnostics.append(.init(file: file, line: line, message: message))
        }
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let line = index + 1
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                .map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";")
            else { continue }
            let arguments = Array(words.dropFirst()).prefix { !$0.hasPrefix("#") }
            switch keyword {
            case "nameserver":
                guard arguments.count >= 1, let address = SocketAddress(ip: arguments[0], port: 53)
                else {
                    warn(line, "nameserver needs an IPv4 or IPv6 address")
                    continue
                }
                if configuration.nameservers.count == maximumNameservers {
                    warn(line, "more than \(maximumNameservers) name servers: ignored")
                } else {
                    configuration.nameservers.append(address)
                }
            case "search", "domain":
                guard !arguments.isEmpty else {
                    warn(line, "\(keyword) needs a domain")
                    continue
                }
                configuration.search = keyword == "domain" ? [arguments[0]] : Array(arguments)
            case "options":
                for option in arguments {
                    let parts = option.split(separator: ":", maxSplits: 1).map(String.init)
                    func value(_ maximum: Int) -> Int? {
                        guard parts.count == 2, let number = Int(parts[1]), number >= 0 else {
                            warn(line, "options \(parts[0]) needs :NUMBER")
                            return nil
                        }
                        return min(number, maximum)
                    }
                    switch parts[0] {
                    case "ndots": value(maximumNdots).map { configuration.ndots = $0 }
                    case "timeout": value(maximumTimeout).map { configuration.timeout = max(1, $0) }
                    case "attempts":
                        value(maximumAttempts).map { configuration.attempts = max(1, $0) }
                    default: continue  // rotate, edns0, use-vc…: not used by this client
                    }
                }
            case "sortlist": continue
            default: warn(line, "unknown keyword \"\(keyword)\": ignored")
            }
        }
        if configuration.nameservers.isEmpty { configuration.nameservers = [defaultNameserver] }
        return (configuration, diagnostics)
    }

    /// The resolv.conf that applies in namespace `name`: `/etc/netns/NAME/resolv.conf` if it
    /// exists (what `ip netns exec` binds over `/etc/resolv.conf`), else `/etc/resolv.conf`.
    public static func path(forNamespace name: String?) -> String {
        if let name {
            let own = "/etc/netns/\(name)/resolv.conf"
            if FileSystem.exists(own) { return own }
        }
        return "/etc/resolv.conf"
    }

    /// Reads and parses `path`; a missing file is glibc's defaults (127.0.0.1).
    public static func load(_ path: String) throws(SystemError) -> (
        ResolverConfiguration, [ResolverConfigurationDiagnostic]
    ) {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path, limit: 1 << 16)
        } catch  where error.errno == ENOENT {
            return (ResolverConfiguration(nameservers: [defaultNameserver]), [])
        }
        return parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// The names `res_search(3)` tries for `name`, in order: a name ending in a dot only as
    /// it is; one with at least `ndots` dots first as it is, then with each search domain;
    /// one with fewer the other way round.
    public func candidates(for name: String) -> [String] {
        if name.hasSuffix(".") { return [String(name.dropLast())] }
        let dots = name.filter { $0 == "." }.count
        let searched = search.map { "\(name).\($0.hasSuffix(".") ? String($0.dropLast()) : $0)" }
        return dots >= ndots ? [name] + searched : searched + [name]
    }
}
