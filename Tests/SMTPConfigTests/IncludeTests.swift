import Glibc
import Testing

@testable import SMTPConfig

@Suite struct IncludeTests {
    @Test func includedStatementsJoinTheModel() throws {
        let config = try parse(
            """
            include "/etc/mail/tables.conf"
            action "local" maildir virtual <vusers>
            action "b" mbox alias $aliases_table
            include "/etc/mail/rules.conf"
            listen on lo
            """,
            includes: [
                "/etc/mail/tables.conf":
                    "table vusers { \"@\" = \"nobody\" }\naliases_table = \"<al>\"\ntable al { a = b }\n",
                "/etc/mail/rules.conf": "\nmatch from any for any action \"local\"",
            ])
        #expect(config.tables.keys.sorted() == ["al", "vusers"])
        #expect(
            config.tableLocations["al"] == SourceLocation(file: "/etc/mail/tables.conf", line: 3))
        #expect(config.actions[1].alias == .named("al"))
        #expect(config.rules[0].location == SourceLocation(file: "/etc/mail/rules.conf", line: 2))
        #expect(config.listeners[0].location == SourceLocation(file: "smtpd.conf", line: 5))
    }

    @Test func errorsInIncludedFilesNameThatFile() {
        #expect(
            errors(
                "include \"/inc.conf\"\nlisten on lo port 0\nmatch for any reject",
                includes: ["/inc.conf": "listen on lo\n\nlisten on lo port 99999\n"])
                == [
                    "/inc.conf:3: invalid port: 99999 (must be 1-65535)",
                    "smtpd.conf:2: invalid port: 0 (must be 1-65535)",
                ])
    }

    @Test func acceptLinesInIncludesGetDistinctNames() throws {
        let config = try parse(
            "include \"/a.conf\"\naccept for any deliver to mbox",
            includes: ["/a.conf": "\naccept for local deliver to mbox"])
        #expect(config.actions.map(\.name) == ["accept-line-2", "accept-line-2-2"])
    }

    @Test func loadReadsFilesAndIncludes() throws {
        let dir = "/tmp/smtpconfig-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkdir(dir, 0o700) == 0)
        defer {
            unlink(dir + "/main.conf")
            unlink(dir + "/rules.conf")
            rmdir(dir)
        }
        func store(_ name: String, _ text: String) {
            let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        store("rules.conf", "match from any for any reject\n")
        store("main.conf", "listen on $where\ninclude \"\(dir)/rules.conf\"\n")
        let config = try SMTPConfiguration.load(path: dir + "/main.conf", macros: ["where": "lo"])
        #expect(config.listeners[0].target == ListenTarget.interface("lo"))
        #expect(config.rules[0].location.file == dir + "/rules.conf")

        store("main.conf", "listen on lo port 0\n")
        var failure: ConfigErrors?
        do {
            _ = try SMTPConfiguration.load(path: dir + "/main.conf")
        } catch {
            failure = error
        }
        #expect(
            failure?.description
                == "\(dir)/main.conf:1: invalid port: 0 (must be 1-65535)\n\(dir)/main.conf:1: no rules, nothing to do"
        )
    }

    @Test func loadReportsAMissingFile() {
        do {
            _ = try SMTPConfiguration.load(path: "/nonexistent/smtpd.conf")
            Issue.record("loaded")
        } catch {
            #expect(error.description == "/nonexistent/smtpd.conf: open: No such file or directory")
        }
    }
}
