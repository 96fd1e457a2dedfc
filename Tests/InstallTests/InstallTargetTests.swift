import Foundation
import MailLabTestSupport
import Testing

/// `make install` / `make uninstall` into a scratch DESTDIR. The binaries are the debug
/// ones `swift build` already made (INSTALL_BIN_DIR): what is tested is where files go, the
/// pages and the manifest, not the compiler's release mode, and a release build would cost
/// minutes of the test budget.
@Suite(.requires(.smtpd, .smtpctl, .mlab, .mandoc, .man))
struct InstallTargetTests {
    static let pages = [
        "man8/smtpd.8", "man8/smtpctl.8", "man5/smtpd.conf.5", "man5/mlab-lab.5", "man1/mlab.1",
    ]

    /// Every file under `root`, relative to it, sorted; directories end in "/".
    static func tree(_ root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var entries: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            entries.append(isDirectory.boolValue ? path + "/" : path)
        }
        return entries.sorted()
    }

    static func make(_ arguments: [String]) throws -> ProgramOutput {
        try runToEnd("/usr/bin/make", ["-s", "-C", packageRoot] + arguments)
    }

    @Test func installPutsToolsPagesAndCompletionsInPlaceAndUninstallRemovesExactlyThem()
        throws
    {
        let destination =
            NSTemporaryDirectory() + "maillab-install-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(
            atPath: destination, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let binaries = URL(fileURLWithPath: ExternalTool.mlab.path).deletingLastPathComponent().path
        let options = ["DESTDIR=" + destination, "PREFIX=/usr", "INSTALL_BIN_DIR=" + binaries]

        let install = try Self.make(["install"] + options)
        try #require(install.status == 0, "make install: \(install.output)\(install.errors)")
        let root = destination + "/usr"
        for tool in ["sbin/smtpd", "sbin/smtpctl", "bin/mlab"] {
            #expect(access(root + "/" + tool, X_OK) == 0, "\(tool) not installed")
        }
        let run = try runToEnd(root + "/bin/mlab", ["--help"])
        #expect(run.status == 0 && run.output.contains("lab"), "installed mlab: \(run.errors)")

        for page in Self.pages {
            let path = root + "/share/man/" + page
            // Style messages about cross references depend on this machine's man database,
            // not on the page.
            let lint = try runToEnd("/usr/bin/mandoc", ["-T", "lint", path])
            let findings = (lint.output + lint.errors).split(separator: "\n").filter {
                !$0.contains("referenced manual not found") && !$0.contains("mandoc.db")
            }
            #expect(findings.isEmpty, "mandoc -T lint \(page): \(findings)")
            let shown = try runToEnd(
                "/usr/bin/man", ["--warnings", "-l", path],
                environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PATH": "/usr/bin:/bin"])
            #expect(shown.status == 0 && shown.errors.isEmpty, "man -l \(page): \(shown.errors)")
            #expect(shown.output.contains("NAME") && shown.output.contains("DESCRIPTION"))
        }

        for tool in ["mlab", "smtpctl"] {
            for file in [
                "bash-completion/completions/\(tool)", "zsh/site-functions/_\(tool)",
                "fish/vendor_completions.d/\(tool).fish",
            ] {
                let text =
                    (try? String(contentsOfFile: root + "/share/" + file, encoding: .utf8)) ?? ""
                #expect(text.contains(tool) && text.count > 200, "\(file): \(text.prefix(80))")
            }
            let syntax = try runToEnd(
                "/bin/bash", ["-n", root + "/share/bash-completion/completions/\(tool)"])
            #expect(syntax.status == 0, "bash -n \(tool): \(syntax.errors)")
        }

        // The manifest names every file and directory install made, and nothing else.
        let manifest = try String(
            contentsOfFile: root + "/share/maillab/install-manifest", encoding: .utf8)
        let recorded = manifest.split(separator: "\n").map { line in
            let path = String(line.dropFirst(2).dropFirst())  // "f /usr/…" → "usr/…"
            return line.hasPrefix("d ") ? path + "/" : path
        }
        #expect(recorded.sorted() == Self.tree(destination))

        let again = try Self.make(["install"] + options)
        #expect(again.status != 0 && again.errors.contains("make uninstall first"))

        let uninstall = try Self.make(["uninstall"] + options)
        #expect(uninstall.status == 0, "make uninstall: \(uninstall.errors)")
        #expect(Self.tree(destination) == [], "left behind")
    }

    /// A directory that was there before install, and a file someone else put beside ours,
    /// stay.
    @Test func uninstallLeavesWhatInstallDidNotMake() throws {
        let destination =
            NSTemporaryDirectory() + "maillab-install-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(
            atPath: destination + "/usr/local/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let binaries = URL(fileURLWithPath: ExternalTool.mlab.path).deletingLastPathComponent().path
        let options = ["DESTDIR=" + destination, "INSTALL_BIN_DIR=" + binaries]
        let install = try Self.make(["install"] + options)
        try #require(install.status == 0, "make install: \(install.errors)")
        try "other\n".write(
            toFile: destination + "/usr/local/share/man/man1/other.1", atomically: false,
            encoding: .utf8)
        let uninstall = try Self.make(["uninstall"] + options)
        #expect(uninstall.status == 0)
        #expect(
            Self.tree(destination) == [
                "usr/", "usr/local/", "usr/local/bin/", "usr/local/share/",
                "usr/local/share/man/", "usr/local/share/man/man1/",
                "usr/local/share/man/man1/other.1",
            ])
    }
}
