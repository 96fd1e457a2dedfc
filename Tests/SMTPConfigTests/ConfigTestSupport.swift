@testable import SMTPConfig

struct MissingInclude: Error, CustomStringConvertible {
    var path: String
    var description: String { "open: No such file or directory" }
}

/// Parses `text` as `file`, with `includes` as the only readable include files.
func parse(
    _ text: String, file: String = "smtpd.conf", macros: [String: String] = [:],
    includes: [String: String] = [:]
) throws(ConfigErrors) -> SMTPConfiguration {
    try SMTPConfiguration.parse(text, fileName: file, macros: macros) { path in
        guard let included = includes[path] else { throw MissingInclude(path: path) }
        return included
    }
}

/// The error lines of a configuration that must fail (empty if it parsed).
func errors(
    _ text: String, file: String = "smtpd.conf", macros: [String: String] = [:],
    includes: [String: String] = [:]
) -> [String] {
    do {
        _ = try parse(text, file: file, macros: macros, includes: includes)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// A rule line so that snippets testing other statements are complete configurations.
let anyRule = "\naction \"l\" mbox\nmatch from any for any action \"l\""

let fromAnyForLocal = [MatchCondition(.fromAny), MatchCondition(.forLocal)]

extension DeliveryMethod {
    /// The options of a relay; nil for any other method (`try #require` it).
    var relayOptions: RelayOptions? {
        if case .relay(let options) = self { return options }
        return nil
    }
}
