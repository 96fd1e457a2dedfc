/// "Did you mean": the candidates closest to a mistyped name, by edit distance (insert,
/// delete, replace or swap two neighbours, each costing one), so that a typo is answered with
/// the name the user meant instead of an invitation to declare the typo.
public enum NearMiss {
    /// The candidates within a distance of 1 (names up to 4 characters) or 2, closest first.
    public static func suggestions(for word: String, among candidates: some Sequence<String>)
        -> [String]
    {
        let limit = word.count <= 4 ? 1 : 2
        return
            candidates
            .map { ($0, distance(word, $0)) }
            .filter { $0.1 <= limit && $0.0 != word }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            .map(\.0)
    }

    /// ` (did you mean X?)`, ` (did you mean X or Y?)`, or "" when nothing is close.
    public static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        let close = suggestions(for: word, among: candidates)
        guard !close.isEmpty else { return "" }
        return " (did you mean \(close.prefix(3).joined(separator: " or "))?)"
    }

    /// Optimal-string-alignment distance (Damerau–Levenshtein without repeated edits).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { rows[i][0] = i }
        for j in 0...b.count { rows[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
                }
            }
        }
        return rows[a.count][b.count]
    }
}
