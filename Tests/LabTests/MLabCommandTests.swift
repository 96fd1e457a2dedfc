import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import MailLabTestSupport
import MailLabVersion
import Namespaces
import Testing

/// The `mlab` binary next to the test bundle (swift build --build-tests builds both).
let mlabPath = ExternalTool.mlab.path

/// Runs mlab; returns exit status, stdout and stderr.
func mlab(_ arguments: [String], environment: [String: String] = [:]) throws -> (
    Int32, String, String
) {
    let merged =
        environment.isEmpty
        ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let result = try runToEnd(mlabPath, arguments, environment: merged)
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
            #expect(up.hasSuffix(" changes)\n"))
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

    @Test func aFailingUpSaysWhatFailedInTheFilesWordsAndWhatItRolledBack() throws {
        try withLabScratch { scratch in
            let path = "/tmp/mlt-fail-\(getpid())-\(scratch.name("g").suffix(7)).conf"
            defer { unlink(path) }
            try
                "netns g\nveth a@host b@g\naddr a@host 10.9.0.1/24\naddr b@g 10.9.0.2/24\nroute host 10.8.0.0/24 via 10.9.0.2\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            // A route in the way that the lab's (a gateway route) does not match: up only
            // finds out when the kernel answers File exists, at the last step.
            let host = scratch.name("host")
            try NetworkNamespace.add(host)
            try iproute("-n", host, "route", "add", "blackhole", "10.8.0.0/24")
            let (code, _, errors) = try mlab([
                "lab", "up", "--adopt", "--netns-prefix", scratch.prefix, "--host", host, path,
            ])
            #expect(code == 1)
            #expect(
                errors.contains("\(path):5: route host 10.8.0.0/24 via 10.9.0.2: File exists"),
                "\(errors)")
            #expect(
                errors.contains(
                    "\(path): up rolled back the 8 changes it had made: addr b@g 10.9.0.2/24, addr a@host 10.9.0.1/24, b@g up, a@host up, lo@g up, lo@host up, veth a@host b@g, netns g"
                ), "\(errors)")
            #expect(!errors.contains(scratch.prefix), "prefixed names in: \(errors)")
            #expect(!errors.contains("ip -n"), "\(errors)")
            #expect(!NetworkNamespace.exists(scratch.name("g")))
            #expect(try iproute("-n", host, "link").split(separator: "\n").count == 2, "only lo")
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

/// `mlab --version`: the version every MailLab program shares, on standard output.
@Test(.requires(.mlab)) func mlabVersionPrintsTheSharedVersionAndExits0() throws {
    let (status, output, errors) = try mlab(["--version"])
    #expect(status == 0, "\(errors)")
    #expect(output == "MailLab mlab \(MailLabVersion.number)\n")
    #expect(errors == "")
}
