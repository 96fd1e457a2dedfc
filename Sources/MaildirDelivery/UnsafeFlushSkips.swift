import Glibc

/// TEST HOOK, never for production. `MAILLAB_UNSAFE_SKIP_FLUSH` names flushes of every
/// delivery to leave out, so that the power-cut test can show it fails without each of them
/// (docs/DURABILITY.md): `data` (the flush of the message files in tmp/ before they are linked
/// into new/), `folders` (the flush of new/ before the 250), comma-separated. Read once, at the
/// first delivery; an unknown name stops the process (a typo must not look like a pass).
enum UnsafeFlushSkips {
    static let data = skipped.contains("data")
    static let folders = skipped.contains("folders")

    static let variable = "MAILLAB_UNSAFE_SKIP_FLUSH"

    private static let skipped: Set<String> = {
        guard let value = getenv(variable).map({ String(cString: $0) }), !value.isEmpty else {
            return []
        }
        let names = Set(value.split(separator: ",").map(String.init))
        let known: Set<String> = ["data", "folders"]
        for name in names where !known.contains(name) {
            fatalError("\(variable): unknown flush '\(name)' (known: data, folders)")
        }
        let warning =
            "warning: \(variable)=\(value): acknowledged messages can be lost (test hook)\n"
        _ = warning.withCString { Glibc.write(2, $0, strlen($0)) }
        return names
    }()
}
