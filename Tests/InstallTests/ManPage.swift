import Foundation
import MailLabTestSupport

/// A man page of the checkout (`man/`), read as mdoc source.
struct ManPage {
    let name: String
    let lines: [String]

    init(_ name: String) throws {
        self.name = name
        let text = try String(contentsOfFile: packageRoot + "/man/" + name, encoding: .utf8)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The words of the macro lines (`.It Ic listen on …`), comments left out: where a
    /// keyword is named as a keyword, not just mentioned in prose.
    var macroWords: Set<String> { Self.words(of: lines) }

    static func words(of lines: some Sequence<String>) -> Set<String> {
        var words: Set<String> = []
        for line in lines where line.hasPrefix(".") && !line.hasPrefix(".\\\"") {
            for word in line.split(separator: " ") { words.insert(String(word)) }
        }
        return words
    }

    /// The lines of section `title` (`.Sh TITLE` up to the next `.Sh`).
    func section(_ title: String) -> [String] {
        guard let start = lines.firstIndex(of: ".Sh " + title) else { return [] }
        let rest = lines[(start + 1)...]
        let end = rest.firstIndex { $0.hasPrefix(".Sh ") } ?? rest.endIndex
        return Array(rest[..<end])
    }

    /// Each `.It` entry with its description: consecutive `.It` lines share the text that
    /// follows the last of them (`.It Cm mask-src` / `.It Cm mask-source` / text).
    var entries: [(heads: [String], text: [String])] {
        var result: [(heads: [String], text: [String])] = []
        var heads: [String] = []
        var text: [String] = []
        func flush() {
            if !heads.isEmpty { result.append((heads, text)) }
            heads = []
            text = []
        }
        for line in lines {
            if line.hasPrefix(".It ") {
                if !text.isEmpty { flush() }
                heads.append(line)
            } else if line.hasPrefix(".Sh ") || line.hasPrefix(".Ss ") {
                flush()
            } else if !heads.isEmpty {
                text.append(line)
            }
        }
        flush()
        return result
    }

    /// Whether an entry starts with `.It Ic WORDS` (then a blank or the end of the line).
    func hasEntry(_ words: String) -> Bool {
        let head = ".It Ic " + words
        return lines.contains { $0 == head || $0.hasPrefix(head + " ") }
    }
}

/// The command paths of an ArgumentParser tool (`mlab lab up` → "lab up"), leaves only,
/// from `--experimental-dump-help`: the tree the binary really has.
func commandLeaves(of tool: ExternalTool) throws -> [String] {
    let run = try runToEnd(tool.path, ["--experimental-dump-help"])
    guard run.status == 0 else { throw DumpHelpError(tool: tool.name, output: run.errors) }
    let json = try JSONSerialization.jsonObject(with: Data(run.output.utf8))
    guard let root = (json as? [String: Any])?["command"] as? [String: Any] else {
        throw DumpHelpError(tool: tool.name, output: run.output)
    }
    var leaves: [String] = []
    func walk(_ command: [String: Any], _ path: [String]) {
        let subcommands = command["subcommands"] as? [[String: Any]] ?? []
        if subcommands.isEmpty, !path.isEmpty { leaves.append(path.joined(separator: " ")) }
        for sub in subcommands { walk(sub, path + [sub["commandName"] as? String ?? "?"]) }
    }
    walk(root, [])
    return leaves
}

struct DumpHelpError: Error, CustomStringConvertible {
    let tool: String
    let output: String
    var description: String { "\(tool) --experimental-dump-help failed: \(output)" }
}
