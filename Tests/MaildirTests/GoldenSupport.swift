import Foundation
import MaildirDelivery
import MaildirInspection
import Testing

/// Expected outputs live next to the fixtures (maildir-fixtures/expected/FIXTURE/…), not in
/// this folder: SwiftPM would warn about files in a test target that are not sources.
/// `MAILLAB_UPDATE_GOLDEN=1 swift test --filter MaildirGolden` rewrites them; review the diff.
enum Golden {
    static let directory = fixtures + "/expected"

    static var updating: Bool {
        ProcessInfo.processInfo.environment["MAILLAB_UPDATE_GOLDEN"] == "1"
    }

    /// Compares `actual` byte for byte with the golden file `name`.
    static func check(
        _ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let path = directory + "/" + name
        if updating {
            try? FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data(actual.utf8))
        }
        guard let expected = contents(of: path) else {
            Issue.record("missing golden file \(path)", sourceLocation: sourceLocation)
            return
        }
        #expect(
            Array(actual.utf8) == expected,
            "\(name) differs:\n--- expected\n\(String(decoding: expected, as: UTF8.self))--- actual\n\(actual)",
            sourceLocation: sourceLocation)
    }
}

extension Golden {
    /// Whether the fixture's golden listing (`ls.txt`) is an error: its folders cannot be
    /// listed, so there is nothing to select or show. A missing golden file fails the test.
    static func listingFails(
        _ fixture: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Bool {
        let path = directory + "/\(fixture)/ls.txt"
        let listing = try #require(
            contents(of: path), "missing golden file \(path)", sourceLocation: sourceLocation)
        return listing.starts(with: Array("error: ".utf8))
    }

    /// How many `show-N.txt` golden files the fixture has.
    static func shownMessages(_ fixture: String) -> Int {
        let names =
            (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + fixture)) ?? []
        return names.filter { $0.wholeMatch(of: /show-\d+\.txt/) != nil }.count
    }
}

/// Every fixture Maildir, healthy and broken.
let fixtureNames = [
    "good", "varied", "broken", "bad-names", "bad-content", "no-cur", "no-tmp", "cur-is-a-file",
]

/// Error texts with the checkout's path removed, so that goldens do not depend on it.
func relative(_ text: String) -> String {
    text.replacingOccurrences(of: fixtures + "/", with: "")
}

/// A fixed clock for `check`: 2027-01-15, so every fixture's tmp/ file is stale.
let fixedNow: Int64 = 1_800_000_000
