import SMTPProtocol
import Testing

@testable import SMTPConfig

/// MailLab's `control socket|group` statements and the fault files `smtpctl load faults`
/// sends (`parseFaults`).
@Suite struct ControlStatementTests {
    @Test func controlSocketAndGroupAreKept() throws {
        let configuration = try parse(
            "control socket \"/run/lab/smtpd.sock\"\ncontrol group mail" + anyRule)
        #expect(configuration.controlSocket == "/run/lab/smtpd.sock")
        #expect(configuration.controlGroup == "mail")
        #expect(configuration.controlGroupLocation == SourceLocation(file: "smtpd.conf", line: 2))
        let none = try parse(anyRule)
        #expect(none.controlSocket == nil && none.controlGroup == nil)
    }

    @Test func badControlStatementsAreFileLineErrors() {
        #expect(
            errors("control socket \"run/smtpd.sock\"" + anyRule) == [
                "smtpd.conf:1: control socket run/smtpd.sock: must be an absolute path"
            ])
        let long = "/" + String(repeating: "x", count: 107)
        #expect(
            errors("control socket \"\(long)\"" + anyRule) == [
                "smtpd.conf:1: control socket \(long): longer than 107 bytes (the limit of a unix socket path)"
            ])
        #expect(
            errors("control socket \"/a\"\ncontrol socket \"/b\"" + anyRule) == [
                "smtpd.conf:2: control socket given twice"
            ])
        #expect(
            errors("control group a\ncontrol group b" + anyRule) == [
                "smtpd.conf:2: control group given twice"
            ])
        #expect(errors("control mode 0666" + anyRule).first?.hasPrefix("smtpd.conf:1: ") == true)
        #expect(errors("control mode 0666" + anyRule).first?.contains("socket or group") == true)
    }

    @Test func faultFilesTakeFaultStatementsAndMacrosOnly() throws {
        let loaded = try SMTPConfiguration.parseFaults(
            "seed = \"7\"\nfault seed $seed\nfault at rcpt reply \"451 4.7.1 Later\"\n",
            fileName: "f.conf")
        #expect(loaded.faultSeed == 7)
        #expect(loaded.faults.map(\.stage) == [.rcpt])
        #expect(
            loaded.faults.first?.action == .reply(try FaultReply(parsing: ["451 4.7.1 Later"])))
        // No rule is needed; an empty file is no error (the server says "no fault statements").
        #expect(try SMTPConfiguration.parseFaults("", fileName: "f.conf").faults.isEmpty)

        func refusal(_ text: String) -> [String] {
            do {
                _ = try SMTPConfiguration.parseFaults(text, fileName: "f.conf")
                return []
            } catch {
                return error.errors.map(\.description)
            }
        }
        #expect(
            refusal("fault seed 1\nlisten on lo\ninclude \"/etc/passwd\"\n") == [
                "f.conf:2: listen: only fault statements can be loaded into a running smtpd (the rest of smtpd.conf needs a restart)",
                "f.conf:3: include: only fault statements can be loaded into a running smtpd (the rest of smtpd.conf needs a restart)",
            ])
        #expect(refusal("fault at nowhere disconnect\n").first?.hasPrefix("f.conf:1: ") == true)
    }
}
