import Foundation
import Glibc
import Testing

/// `smtpd -n` against files that are not regular files: an include of `/dev/zero`, a FIFO or
/// a directory, and a `file:` table that is a FIFO, each fail at once with FILE:LINE and the
/// file named, instead of reading for ever or waiting for a writer.
@Suite struct HostileConfigFileTests {
    static func check(_ config: String, in directory: TempDir) throws -> (ProgramResult, Double) {
        let path = try directory.write("smtpd.conf", config)
        let start = Date()
        let result = try runProgram(smtpdPath, ["-n", "-f", path], timeout: 10)
        return (result, Date().timeIntervalSince(start))
    }

    static let rest = """
        listen on 127.0.0.1
        action "l" maildir "/tmp/x"
        match from any for local action "l"
        """

    @Test(arguments: ["/dev/zero", "FIFO", "DIRECTORY"])
    func anIncludeThatIsNoRegularFileFailsWithinASecond(target: String) throws {
        let directory = try TempDir("hostile-include")
        defer { directory.remove() }
        var path = target
        var reason = "not a regular file"
        if target == "FIFO" {
            path = directory.path + "/fifo"
            #expect(mkfifo(path, 0o600) == 0)
        } else if target == "DIRECTORY" {
            path = directory.path + "/folder"
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: false)
            reason = "is a directory"
        }

        let (result, seconds) = try Self.check("\ninclude \"\(path)\"\n" + Self.rest, in: directory)

        #expect(result.status == 1)
        #expect(
            result.errorOutput
                == "\(directory.path)/smtpd.conf:2: failed to include file \(path): \(reason)\n")
        #expect(seconds < 1, "took \(seconds) s")
    }

    @Test func aFileTableThatIsAFIFOFailsWithinASecond() throws {
        let directory = try TempDir("hostile-table")
        defer { directory.remove() }
        let fifo = directory.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)

        let (result, seconds) = try Self.check(
            "table domains file:\(fifo)\n"
                + Self.rest.replacingOccurrences(
                    of: "for local", with: "for domain <domains>"), in: directory)

        #expect(result.status == 1)
        #expect(
            result.errorOutput.contains(
                "\(directory.path)/smtpd.conf:1: table \(fifo): not a regular file"),
            "\(result.errorOutput)")
        #expect(seconds < 1, "took \(seconds) s")
    }
}
