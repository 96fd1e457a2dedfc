/// One `key = value` (or `key => value`) entry of a mapping table.
public struct KeyValue: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A table's contents: an inline list or mapping, or a file the server reads.
public enum Table: Sendable, Hashable {
    /// `{ a, b }` or a single word used where a table is expected (`for domain example.org`).
    case list([String])
    /// `{ k = v, k2 => v2 }`.
    case mapping([KeyValue])
    /// `table NAME [type:]"/absolute/path"`; `type` is `file` for a bare path, else the
    /// backend name written before the colon (`file`, `db`, …).
    case file(path: String, type: String)
}

/// Where a directive takes a table: `<name>` (declared earlier with `table`) or inline.
public enum TableRef: Sendable, Hashable {
    case named(String)
    case inline(Table)
}
