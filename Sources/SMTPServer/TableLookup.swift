import Glibc
import LinuxSystem
import SMTPConfig

/// A table's contents ready for lookups: file tables are read once, at start.
struct LoadedTable: Sendable {
    var values: [String]
    var mapping: [String: String]

    init(_ table: Table) throws(ServerError) {
        switch table {
        case .list(let items):
            values = items
            mapping = [:]
        case .mapping(let pairs):
            values = pairs.map(\.key)
            mapping = Dictionary(
                pairs.map { ($0.key.lowercased(), $0.value) },
                uniquingKeysWith: { first, _ in first })
        case .file(let path, let type):
            guard type == "file" else {
                throw ServerError("table \(path): backend \"\(type)\" is not supported (only file)")
            }
            let text: String
            do {
                text = String(
                    decoding: try FileSystem.readFile(
                        path, limit: Self.fileLimit, regularOnly: true),
                    as: UTF8.self)
            } catch {
                throw ServerError("table \(path): \(Self.reason(error))")
            }
            // One entry per line: "key" or "key value" (or "key: value", as aliases(5)).
            var list: [String] = []
            var map: [String: String] = [:]
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = raw.split(
                    separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                let trimmed = line.trimmingCharacters(in: " \t")
                guard !trimmed.isEmpty else { continue }
                var key = Substring(trimmed)
                var value: Substring = ""
                if let split = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) {
                    key = trimmed[..<split]
                    value = Substring(trimmed[split...].trimmingCharacters(in: " \t"))
                }
                if key.hasSuffix(":") { key = key.dropLast() }
                list.append(String(key))
                if !value.isEmpty, map[key.lowercased()] == nil {
                    map[key.lowercased()] = String(value)
                }
            }
            values = list
            mapping = map
        }
    }

    /// The table `ref` names in `configuration`, read: `user` says who refers to it
    /// (`listen on bbb`, `action "out": relay auth`) in the error for a missing table, which
    /// is placed at `location`; a table that cannot be read is placed at its own line.
    static func resolve(
        _ ref: TableRef, in configuration: SMTPConfiguration, user: String, location: String
    ) throws(ServerError) -> LoadedTable {
        let table: Table
        var place = location
        switch ref {
        case .inline(let inline): table = inline
        case .named(let name):
            guard let named = configuration.tables[name] else {
                throw ServerError("\(user): no such table: \(name)", location: location)
            }
            table = named
            place = configuration.tableLocations[name]?.description ?? location
        }
        do throws(ServerError) {
            return try LoadedTable(table)
        } catch {
            throw ServerError(error.message, location: place)
        }
    }

    /// The most a `file:` table may hold.
    static let fileLimit = 64 << 20

    /// Only a regular file is read (a FIFO or a device could block or never end).
    private static func reason(_ error: SystemError) -> String {
        switch (error.operation, error.errno) {
        case ("read", EISDIR): "is a directory"
        case ("read", EINVAL): "not a regular file"
        case ("read", EFBIG): "larger than \(fileLimit >> 20) MiB"
        default: "\(error.operation): \(error.reason)"
        }
    }

    func value(for key: String) -> String? { mapping[key.lowercased()] }

    /// Domain match: exact (case-insensitive) or a `*` wildcard such as `*.example.com`.
    func matchesDomain(_ domain: String) -> Bool {
        values.contains { globMatch($0.lowercased(), domain.lowercased()) }
    }

    /// Address match as OpenSMTPD's mailaddr tables: `user@domain`, `@domain` or `user`.
    func matchesAddress(user: String, domain: String) -> Bool {
        let user = user.lowercased()
        let domain = domain.lowercased()
        return values.contains { entry in
            let entry = entry.lowercased()
            if entry.hasPrefix("@") { return globMatch(String(entry.dropFirst()), domain) }
            if let at = entry.lastIndex(of: "@") {
                return entry[..<at] == user
                    && globMatch(String(entry[entry.index(after: at)...]), domain)
            }
            return entry == user
        }
    }

    func contains(_ value: String) -> Bool {
        values.contains { $0.lowercased() == value.lowercased() }
    }
}

/// Shell-style `*` matching (no other metacharacters), as OpenSMTPD's hostname_match.
func globMatch(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern.utf8)
    let t = Array(text.utf8)
    var pi = 0
    var ti = 0
    var star = -1
    var mark = 0
    while ti < t.count {
        if pi < p.count && p[pi] == UInt8(ascii: "*") {
            star = pi
            mark = ti
            pi += 1
        } else if pi < p.count && p[pi] == t[ti] {
            pi += 1
            ti += 1
        } else if star >= 0 {
            pi = star + 1
            mark += 1
            ti = mark
        } else {
            return false
        }
    }
    while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
    return pi == p.count
}
