import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import MailLabTestSupport
import Testing

/// The `mlab` binary next to the test bundle (swift build --build-tests builds both).
let mlabPath = ExternalTool.mlab.path

/// Runs mlab; returns exit status, stdout and stderr.
func mlab(_ arguments: [String]) throws -> (Int32, String, String) {
    let result = try runToEnd(mlabPath, arguments)
    return (result.status, result.output, result.errors)
}

@Suite(.enabled(if: isRoot, "needs root"), .requires(.mlab))
struct MLabCommandTests {
    @Test func labVerbsEndToEnd() throws {
        try withLabScratch { scratch in
            let lab = [
                "--netns-prefix", scratch.prefix, "--host", scratch.name("host"),
                confDirectory + "/lab-daisy.conf",
            ]
            let (upStatus, up, _) = try mlab(["lab", "up"] + lab)
            #expect(upStatus == 0)
            #expect(up.contains("+ ip netns add \(scratch.name("gruen"))"))
            #expect(up.hasSuffix("changes)\n"))
            let (_, again, _) = try mlab(["lab", "up"] + lab)
            #expect(again == "lab daisy: already up, nothing changed\n")
            let (statusCode, status, _) = try mlab(["lab", "status"] + lab)
            #expect(statusCode == 0)
            #expect(status.hasSuffix("lab daisy: up\n"))
            let (checkCode, check, _) = try mlab(["lab", "check"] + lab)
            #expect(checkCode == 0, "\(check)")
            #expect(check.hasSuffix("lab daisy: check passed\n"))
            let (execCode, links, _) = try mlab([
                "netns", "exec", scratch.name("rot"), "--", "ls", "/sys/class/net",
            ])
            #expect(execCode == 0)
            #expect(links.split(separator: "\n").sorted() == ["fff", "lo"])
            let (forwardCode, _, _) = try mlab(["netns", "forward", scratch.name("blau"), "off"])
            #expect(forwardCode == 0)
            let (failedCode, failed, _) = try mlab(["lab", "check", "--timeout", "200"] + lab)
            #expect(failedCode == 1)
            #expect(failed.contains("--!"))
            let (downCode, down, _) = try mlab(["lab", "down"] + lab)
            #expect(downCode == 0)
            #expect(down.hasSuffix("lab daisy: down\n"))
            #expect(scratch.leftovers().isEmpty)
        }
    }

    @Test func labFileErrorsAreFileColonLine() throws {
        let path = "/tmp/mlt-\(getpid())-bad.conf"
        defer { unlink(path) }
        try "netns g\nveth a@host b@nowhere\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let (code, _, errors) = try mlab(["lab", "up", path])
        #expect(code != 0)
        #expect(errors.contains("\(path):2: unknown namespace \"nowhere\""))
    }
}
