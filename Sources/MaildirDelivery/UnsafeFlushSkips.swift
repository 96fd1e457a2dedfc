import Glibc

/// TEST HOOK, never for production. `MAILLAB_UNSAFE_SKIP_FLUSH` names steps of durable
/// delivery to leave out, so that the power-cut test can show it fails without each of them
/// (docs/DURABILITY.md), comma-separated: `data` (the flush of the message files and their
/// tmp/ names before the 250; in the fsync modes, before the link into new/), `folders` (the
/// fsync modes' flush of new/ before the 250), `recovery` (the start-up sweep removes whole
/// files from tmp/ instead of moving them into new/), `size` (the sweep recovers a file
/// without checking that it holds the size its name gives). Read once, at first use; an
/// unknown name stops the process (a typo must not look like a pass).
enum UnsafeFlushSkips {
    static let data = skipped.contains("data")
    static let folders = skipped.contains("folders")
    static let recovery = skipped.contains("recovery")
    static let size = skipped.contains("size")

    static let variable = "MAILLAB_UNSAFE_SKIP_FLUSH"

    private static let skipped: Set<String> = {
        guard let value = getenv(variable).map({ String(cString: $0) }), !value.isEmpty else {
            return []
        }
        let names = Set(value.split(separator: ",").map(String.init))
        let known: Set<String> = ["data", "folders", "recovery", "size"]
        for name in names where !known.contains(name) {
            fatalError("\(variable): unknown step '\(name)' (known: data, folders, recovery, size)")
        }
        let warning =
            "warning: \(variable)=\(value): acknowledged messages can be lost (test hook)\n"
        _ = warning.withCString { Glibc.write(2, $0, strlen($0)) }
        return names
    }()
}
