import Foundation
import MailLabTestSupport
import Testing

@testable import MaildirDelivery
@testable import MaildirInspection

/// The `mlab` binary next to this test bundle (`swift build` builds both into .build/debug).
let mlabBinary = ExternalTool.mlab.path

/// Runs a program; returns exit status, stdout and stderr.
func run(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, output: String, errors: String)
{
    let result = try runToEnd(program, arguments, environment: environment)
    return (result.status, result.output, result.errors)
}

/// End-to-end runs of `mlab maildir …`: the same outputs as the library, exit codes, and
/// `wait` in a separate process while this one delivers.
@Suite(.requires(.mlab))
struct MaildirCLITests {
    @Test func lsShowAndCheckMatchTheGoldenFiles() throws {
        let ls = try run(mlabBinary, ["maildir", "ls", fixtures + "/varied"])
        #expect(ls.status == 0)
        #expect(Array(ls.output.utf8) == contents(of: Golden.directory + "/varied/ls.txt"))
        let json = try run(mlabBinary, ["maildir", "ls", "--json", fixtures + "/varied"])
        #expect(Array(json.output.utf8) == contents(of: Golden.directory + "/varied/ls.json"))
        let show = try run(mlabBinary, ["maildir", "show", fixtures + "/varied", "3"])
        #expect(Array(show.output.utf8) == contents(of: Golden.directory + "/varied/show-3.txt"))

        let good = try run(mlabBinary, ["maildir", "check", fixtures + "/good"])
        #expect(good.status == 0)
        #expect(good.output == "ok: 3 messages (1 new, 2 cur)\n")
        let broken = try run(mlabBinary, ["maildir", "check", fixtures + "/bad-names"])
        #expect(broken.status == 1)
        #expect(
            Array(broken.output.utf8) == contents(of: Golden.directory + "/bad-names/check.txt"))
    }

    @Test func rawShowsTheStoredBytes() throws {
        let maildir = Maildir(root: fixtures + "/varied")
        let message = try maildir.message("4")
        // 8-bit ISO-8859-1 body: compared as bytes, not as text.
        let rawBytes = try rawOutput(["maildir", "show", "--raw", maildir.root, "4"])
        #expect(rawBytes == (try maildir.read(message)))
        let header = try rawOutput(["maildir", "show", "--raw", "--headers", maildir.root, "4"])
        #expect(header == MaildirShow.storedHeaderSection(try maildir.read(message)))
    }

    @Test func countAndFolderFlags() throws {
        let all = try run(mlabBinary, ["maildir", "count", fixtures + "/varied"])
        let new = try run(mlabBinary, ["maildir", "count", "--new", fixtures + "/varied"])
        let missing = try run(mlabBinary, ["maildir", "count", fixtures + "/no-cur"])
        #expect(all.output == "5\n")
        #expect(new.output == "2\n")
        #expect(missing.status != 0)
        #expect(missing.errors.contains("No such file or directory"))
    }

    @Test func waitReturnsWhenTheMessagesLandAndTimesOutOtherwise() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let writer = MaildirWriter(hostname: "h")
        defer { writer.shutdown() }
        let deliverer = Thread {
            for _ in 1...2 {
                Thread.sleep(forTimeInterval: 0.2)
                _ = deliverAndWait(
                    writer, [DeliveryItem(maildir: scratch.path, chunks: [bytes("\r\nx\r\n")])])
            }
        }
        deliverer.start()

        let reached = try run(
            mlabBinary, ["maildir", "wait", scratch.path, "--count", "2", "--timeout", "20"])
        #expect(reached.status == 0)
        #expect(reached.output == "2\n")

        let timedOut = try run(
            mlabBinary, ["maildir", "wait", scratch.path, "--count", "3", "--timeout", "0.2"])
        #expect(timedOut.status == 1)
        #expect(timedOut.output == "")
        #expect(
            timedOut.errors
                == "mlab maildir wait: timed out after 0.2 s: 2 of 3 messages in \(scratch.path)\n")
    }

    private func rawOutput(_ arguments: [String]) throws -> [UInt8] {
        let finished = try ChildProcess(mlabBinary, arguments, output: .capture, errors: .capture)
            .communicate(timeout: 60)
        #expect(finished.status == 0)
        return Array(finished.output)
    }
}

/// A real mail reader sees the same messages: mblaze's `mlist DIR | mscan`.
@Suite(.requires(.mblaze))
struct MblazeComparisonTests {
    @Test(arguments: ["good", "varied", "broken", "bad-names", "bad-content", "no-tmp"])
    func mlistSeesTheMessagesAndSubjectsThatLsLists(fixture: String) throws {
        let root = fixtures + "/" + fixture
        // COLUMNS: mscan cuts its lines to the terminal width (80 without a terminal).
        let listed = try run(
            "/bin/sh", ["-c", "mlist \"$1\" | mscan -f '%R|%s'", "sh", root],
            environment: [
                "MAILSEQ": "/dev/null", "COLUMNS": "100000", "PATH": "/usr/bin:/bin",
                "LC_ALL": "C.UTF-8",
            ])
        #expect(listed.status == 0, "\(listed.errors)")
        var seen: [String: String] = [:]
        for line in listed.output.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(fields[0].dropFirst(root.count + 1))
            let subject = fields.count > 1 ? String(fields[1]) : ""
            seen[path] = subject == "(no subject)" ? "" : subject
        }

        let ours = try Maildir(root: root).list()

        #expect(Set(seen.keys) == Set(ours.map(\.file)))
        #expect(!ours.isEmpty)
        // Subjects with control characters are shown differently by each reader.
        for entry in ours where !entry.subject.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            #expect(seen[entry.file] == entry.subject, "\(entry.file)")
        }
    }
}
