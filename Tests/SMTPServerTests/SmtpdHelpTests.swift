import Testing

/// `smtpd -h` is a help page on standard output (exit 0); a wrong flag keeps OpenSMTPD's
/// usage line on standard error (exit 1).
@Suite struct SmtpdHelpTests {
    /// The flags of the usage line `usage: smtpd [-dFhnv] [-D macro=value] …`: each letter of
    /// the first group, then the flag of each `[-X value]` group.
    static func flagsOfUsage(_ usage: String) -> [String] {
        var flags: [String] = []
        var rest = Substring(usage)
        while let open = rest.firstIndex(of: "["), let close = rest.firstIndex(of: "]") {
            let group = rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
            if group.contains(" ") {
                flags.append(String(group.split(separator: " ")[0]))
            } else {
                flags += group.dropFirst().map { "-\($0)" }
            }
        }
        return flags
    }

    @Test func helpExplainsEveryFlagOfTheUsageOnStandardOutputAndExits0() throws {
        let result = try runProgram(smtpdPath, ["-h"])
        #expect(result.status == 0)
        #expect(result.errorOutput == "")
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("version: MailLab smtpd") == true, "\(result.output)")
        let usage = try #require(lines.first { $0.hasPrefix("usage: smtpd ") })
        let flags = Self.flagsOfUsage(String(usage))
        #expect(flags.count >= 9, "\(flags)")
        for flag in flags {
            // An entry is "  -X …" followed by an explanation of at least a few words.
            let entry = lines.first { $0.hasPrefix("  \(flag) ") || $0.hasPrefix("  \(flag)\t") }
            #expect(entry != nil, "no entry for \(flag) in:\n\(result.output)")
            if let entry {
                #expect(entry.split(separator: " ").count > 4, "\(entry)")
            }
        }
        // -P is accepted (OpenSMTPD's) though the usage line omits it: it is explained too.
        #expect(lines.contains { $0.hasPrefix("  -P ") })
    }

    @Test(arguments: [["-x"], ["-hx"], ["-f"]])
    func aWrongFlagKeepsTheUsageOnStandardErrorAndExits1(arguments: [String]) throws {
        let result = try runProgram(smtpdPath, arguments)
        #expect(result.status == 1)
        #expect(result.output == "")
        #expect(
            result.errorOutput.hasSuffix(
                "usage: smtpd [-dFhnv] [-D macro=value] [-f file] [-N netns] [-s socket] [-T trace]\n"
            ))
        #expect(!result.errorOutput.contains("options:"))
    }
}
