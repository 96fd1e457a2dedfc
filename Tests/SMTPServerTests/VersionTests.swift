import MailLabTestSupport
import MailLabVersion
import Testing

/// One version for the three programs: `smtpd -h` (OpenSMTPD has no `--version`; its usage
/// starts with the version), `smtpctl --version`, and `mlab --version` (in LabTests).
@Suite struct VersionTests {
    @Test func smtpdHelpStartsWithTheVersion() throws {
        let result = try runProgram(smtpdPath, ["-h"])
        #expect(result.status == 0)
        #expect(
            result.output.hasPrefix("version: \(MailLabVersion.banner(of: "smtpd"))\n"),
            "\(result.output)")
    }

    @Test(.requires(.smtpctl)) func smtpctlVersionPrintsItAndExits0() throws {
        let result = try runProgram(ExternalTool.smtpctl.path, ["--version"])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output == "MailLab smtpctl \(MailLabVersion.number)\n")
        #expect(result.errorOutput == "")
    }
}
