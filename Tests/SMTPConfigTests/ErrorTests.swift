import Testing

@testable import SMTPConfig

/// Every error path, with its exact `FILE:LINE: message`.
@Suite struct ErrorTests {
    let rule = "\nmatch for any reject"

    @Test func syntaxErrorsNameTheUnexpectedToken() {
        #expect(
            errors("action \"local\" mbox\naction local2 mbox foo\n" + "match for any reject")
                == [
                    "smtpd.conf:2: syntax error: unexpected \"foo\" after \"action local2 mbox\", expected an action option (alias, virtual, userbase, user, wrapper, ttl)"
                ])
        #expect(
            errors("action x foo" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"foo\" after \"action x\", expected a method (maildir, mbox, lmtp, mda, expand-only, forward-only, relay)"
                ])
        #expect(
            errors("listen on" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected end of line after \"listen on\", expected an interface, address or host name"
                ])
        #expect(
            errors("listen lo" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"lo\" after \"listen\", expected \"on\""
                ])
        #expect(
            errors("match from any for any" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected end of line after \"match from any for any\", expected a match option (from, for, tag, helo, auth, mail-from, rcpt-to, tls), action or reject"
                ])
        #expect(
            errors("foo bar" + rule)
                == [
                    "smtpd.conf:1: syntax error: unknown statement \"foo\" (expected listen, table, action, match, pki, ca, smtp, queue, include, a macro definition, or the old accept, reject, limit, …)"
                ])
        #expect(
            errors("listen on lo frobnicate" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"frobnicate\" after \"listen on lo\", expected a listen option"
                ])
        #expect(
            errors("match for any reject now")
                == [
                    "smtpd.conf:1: syntax error: unexpected \"now\" after \"match for any reject\", expected end of line",
                    "smtpd.conf:1: no rules, nothing to do",
                ])
        #expect(
            errors("listen on lo @" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"@\" after \"listen on lo\", expected a listen option"
                ])
        #expect(
            errors("match for any action 'x' 'y'\n" + "action x mbox" + rule).first
                == "smtpd.conf:1: no such dispatcher: x")
    }

    @Test func theBriefsExample() {
        #expect(
            errors("listen on lo\n\naction \"local\" foo\nmatch for any reject")
                == [
                    "smtpd.conf:3: syntax error: unexpected \"foo\" after \"action local\", expected a method (maildir, mbox, lmtp, mda, expand-only, forward-only, relay)"
                ])
        #expect(
            errors("action \"a b\" mbox foo" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"foo\" after \"action 'a b' mbox\", expected an action option (alias, virtual, userbase, user, wrapper, ttl)"
                ])
    }

    @Test func macroDefinitions() {
        #expect(
            errors("\"a b\" = \"x\"" + rule) == [
                "smtpd.conf:1: macro name cannot contain whitespace"
            ])
        #expect(
            errors("a = " + rule) == [
                "smtpd.conf:1: syntax error: unexpected end of line after \"a =\", expected a macro value"
            ])
        #expect(
            errors("\"a\" x" + rule) == [
                "smtpd.conf:1: syntax error: unexpected \"x\", expected \"=\" (a macro definition)"
            ])
    }

    @Test func reservedWordsMustBeQuoted() {
        #expect(
            errors("action local mbox" + rule)
                == [
                    "smtpd.conf:1: syntax error: \"local\" is a reserved keyword; quote it (\"local\") to use it as an action name"
                ])
        #expect(
            errors("accept for local deliver to mbox foo" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"foo\" after \"accept for local deliver to mbox\", expected from, for, sender, recipient, tagged, authenticated, alias, virtual, userbase, deliver to, relay, forward-only or expire"
                ])
        #expect(
            errors("port = \"1\"" + rule)
                == ["smtpd.conf:1: syntax error: \"port\" is a keyword and cannot be a macro name"])
    }

    @Test func unquotedPaths() {
        #expect(
            errors("action l maildir /tmp/x" + rule)
                == [
                    "smtpd.conf:1: syntax error: unquoted path /tmp/x after \"action l maildir\": paths must be quoted (\"/tmp/x\")"
                ])
        #expect(
            errors("accept for local deliver to maildir ~/Maildir")
                == [
                    "smtpd.conf:1: syntax error: unquoted path ~/Maildir after \"accept for local deliver to maildir\": paths must be quoted (\"~/Maildir\")",
                    "smtpd.conf:1: no rules, nothing to do",
                ])
        #expect(
            errors("table t /etc/t" + rule)
                == [
                    "smtpd.conf:1: syntax error: unquoted path /etc/t after \"table t\": paths must be quoted (\"/etc/t\")"
                ])
    }

    @Test func undeclaredThings() {
        #expect(
            errors("action a mbox alias <aliases>" + rule)
                == ["smtpd.conf:1: no such table: aliases (declare it first with: table aliases …)"]
        )
        #expect(
            errors("listen on lo\nmatch for local action \"nope\"")
                == [
                    "smtpd.conf:2: no such dispatcher: nope",
                    "smtpd.conf:2: no rules, nothing to do",
                ])
        #expect(
            errors("listen on lo tls pki nope" + rule) == ["smtpd.conf:1: pki name not found: nope"]
        )
        #expect(
            errors("pki p cert \"/c\"\nlisten on lo tls pki p ca nope" + rule) == [
                "smtpd.conf:2: ca name not found: nope"
            ])
        #expect(
            errors("action a mbox wrapper w" + rule) == [
                "smtpd.conf:1: no mda wrapper with that name: w"
            ])
        #expect(
            errors("listen on lo filter f" + rule) == [
                "smtpd.conf:1: no filter exist with that name: f"
            ])
        #expect(errors("\n\n$nope" + rule) == ["smtpd.conf:3: macro 'nope' not defined"])
    }

    @Test func duplicates() {
        #expect(
            errors("action a mbox\naction a maildir" + rule)
                == [
                    "smtpd.conf:2: dispatcher already declared with that name: a (first declared at smtpd.conf:1)"
                ])
        #expect(
            errors("table t { a }\ntable t { b }" + rule)
                == [
                    "smtpd.conf:2: table already declared with that name: t (first declared at smtpd.conf:1)"
                ])
        #expect(
            errors("listen on lo port 25 port 26" + rule) == [
                "smtpd.conf:1: port already specified"
            ])
        #expect(
            errors("listen on lo inet4 inet6" + rule) == [
                "smtpd.conf:1: address family already specified"
            ])
        #expect(
            errors("match from any from local reject") == [
                "smtpd.conf:1: from already specified for this rule",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("match for any ! for local reject") == [
                "smtpd.conf:1: for already specified for this rule",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("reject from any from local") == [
                "smtpd.conf:1: from already specified for this rule",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("action a mbox alias { a = b } virtual { c = d }" + rule) == [
                "smtpd.conf:1: alias and virtual are mutually exclusive and given once"
            ])
        #expect(
            errors("listen on socket\nlisten on socket" + rule) == [
                "smtpd.conf:2: socket listener already configured"
            ])
        #expect(
            errors("mda wrapper w \"a\"\nmda wrapper w \"b\"" + rule) == [
                "smtpd.conf:2: mda wrapper already declared with that name: w"
            ])
    }

    @Test func actionOptionConflicts() {
        let cases: [(String, String)] = [
            ("action a relay backup host \"smtp://h\"", "backup and host are mutually exclusive"),
            ("action a relay host \"smtp://h\" backup", "backup and host are mutually exclusive"),
            ("action a relay backup domain { a = b }", "backup and domain are mutually exclusive"),
            (
                "action a relay host \"smtp://h\" domain { a = b }",
                "host mapping already specified for this dispatcher"
            ),
            ("action a relay helo a helo b", "helo already specified for this dispatcher"),
            ("action a relay tls tls", "tls already specified for this dispatcher"),
            ("action a mbox ttl 1d ttl 2d", "ttl already specified for this dispatcher"),
            ("action a maildir user a user b", "user already specified for this dispatcher"),
            ("action a forward-only user a", "user may not be specified for forward-only"),
            ("action a expand-only user a", "user may not be specified for expand-only"),
            (
                "action a mbox userbase { a = b } userbase { c = d }",
                "userbase mapping already specified for this dispatcher"
            ),
            (
                "action a relay ttl 1d helo x",
                "syntax error: unexpected \"helo\" after \"action a relay ttl 1d\", expected a relay option"
            ),
            ("listen on socket tag a tag b", "tag already specified"),
            ("listen on socket mask-src mask-source", "mask-src already specified"),
            ("listen on lo tag a tag b", "tag already specified"),
            (
                "listen on lo filter { a = b }",
                "syntax error: a filter chain is a list of filter names"
            ),
            (
                "listen on socket port 25",
                "syntax error: unexpected \"port\" after \"listen on socket\", expected mask-src, tag, filter or no-dsn"
            ),
            ("match tag a tag b reject", "tag already specified for this rule"),
            ("match tls tls reject", "tls already specified for this rule"),
            ("accept tagged a tagged b deliver to mbox", "tagged already specified for this rule"),
            (
                "accept for any deliver to mbox expire 1d expire 2d",
                "expire already specified for this rule"
            ),
            (
                "action a mda \"%{rcpt[x]}\"",
                "invalid format: invalid substring offset \"x\" in %{rcpt[x]}"
            ),
            ("action a mda \"%{rcpt[]}\"", "invalid format: invalid substring in %{rcpt[]}"),
        ]
        for (line, message) in cases {
            let found = errors(line + rule)
            #expect(found.first == "smtpd.conf:1: " + message, "\(line)")
        }
    }

    @Test func nulInQuotedString() {
        #expect(
            errors("action a mda \"x\u{0}y\"" + rule)
                == ["smtpd.conf:1: syntax error: NUL character in quoted string"])
    }

    @Test func ports() {
        #expect(errors("listen on lo port \"2587\"" + rule) == ["smtpd.conf:1: invalid port: 2587"])
        #expect(
            errors("listen on lo port 0" + rule) == [
                "smtpd.conf:1: invalid port: 0 (must be 1-65535)"
            ])
        #expect(
            errors("listen on lo port 65536" + rule) == [
                "smtpd.conf:1: invalid port: 65536 (must be 1-65535)"
            ])
        #expect(
            errors("listen on lo port -1" + rule) == [
                "smtpd.conf:1: invalid port: -1 (must be 1-65535)"
            ])
        #expect(
            errors("listen on lo port nosuchservice" + rule) == [
                "smtpd.conf:1: invalid port: nosuchservice"
            ])
        #expect(
            errors("listen on lo port 99999999999999999999" + rule) == [
                "smtpd.conf:1: \"99999999999999999999\" invalid number: too large"
            ])
    }

    @Test func tlsRequirements() {
        #expect(
            errors("listen on lo auth" + rule) == [
                "smtpd.conf:1: invalid listen option: auth requires tls/smtps"
            ])
        #expect(
            errors("pki p cert \"/c\"\nlisten on lo pki p" + rule) == [
                "smtpd.conf:2: invalid listen option: pki requires tls/smtps"
            ])
        #expect(
            errors("listen on lo smtps" + rule) == [
                "smtpd.conf:1: invalid listen option: pki required for tls/smtps"
            ])
    }

    @Test func pathsAndIncludes() {
        #expect(
            errors("table t file:etc/t" + rule) == [
                "smtpd.conf:1: table path must be absolute: etc/t (table t)"
            ])
        #expect(
            errors("table t \"etc/t\"" + rule) == [
                "smtpd.conf:1: invalid table source for t: etc/t (expected [type:]\"/absolute/path\")"
            ])
        #expect(
            errors("include \"x.conf\"" + rule) == [
                "smtpd.conf:1: include path must be absolute: x.conf"
            ])
        #expect(
            errors("include \"/nope.conf\"" + rule) == [
                "smtpd.conf:1: failed to include file /nope.conf: open: No such file or directory"
            ])
        #expect(
            errors(
                "include \"/a.conf\"" + rule,
                includes: ["/a.conf": "\ninclude \"/b.conf\"", "/b.conf": "include \"/a.conf\""])
                == ["/b.conf:1: include loop: /a.conf is already being read"])
        #expect(
            errors("include \"/a.conf\"", includes: ["/a.conf": "include \"/a.conf\"\n"])
                == [
                    "/a.conf:1: include loop: /a.conf is already being read",
                    "smtpd.conf:1: no rules, nothing to do",
                ])
    }

    @Test func noRules() {
        #expect(errors("listen on bbb port 25\n") == ["smtpd.conf:1: no rules, nothing to do"])
        #expect(
            errors("listen on bbb port 25\n\n# end\n") == ["smtpd.conf:3: no rules, nothing to do"])
        #expect(errors("") == ["smtpd.conf:1: no rules, nothing to do"])
        #expect(errors("action a mbox", file: "x.conf") == ["x.conf:1: no rules, nothing to do"])
    }

    @Test func lexicalErrors() {
        #expect(
            errors("listen on lo\naction a mda \"unterminated\nmatch for any reject\n")
                == [
                    "smtpd.conf:2: unterminated quoted string (end of file reached)",
                    "smtpd.conf:3: no rules, nothing to do",
                ])
        #expect(
            errors("match for any reject\nlisten on lo \\")
                == ["smtpd.conf:2: line continuation (\\) at end of file"])
        #expect(
            errors("listen on lo \\\n")
                == ["smtpd.conf:1: no rules, nothing to do"])
    }

    @Test func badValues() {
        #expect(
            errors("smtp max-message-size 10X" + rule) == [
                "smtpd.conf:1: invalid size: 10X (expected a number with an optional K, M or G unit)"
            ])
        #expect(errors("max-message-size -5" + rule) == ["smtpd.conf:1: invalid size: -5"])
        #expect(
            errors("smtp limit max-rcpt 0" + rule) == [
                "smtpd.conf:1: invalid max-rcpt: 0 (must be at least 1)"
            ])
        #expect(
            errors("smtp limit max-foo 3" + rule) == [
                "smtpd.conf:1: invalid session limit keyword: max-foo (expected max-rcpt, max-mails, max-sessions or max-sessions-per-address)"
            ])
        #expect(
            errors("limit session max-mails x" + rule) == [
                "smtpd.conf:1: syntax error: unexpected \"x\" after \"limit session max-mails\", expected a number"
            ])
        #expect(
            errors("queue ttl 4w" + rule) == [
                "smtpd.conf:1: invalid ttl delay: 4w (expected a number followed by s, m, h or d)"
            ])
        #expect(
            errors("action a mbox ttl 0d" + rule) == [
                "smtpd.conf:1: invalid ttl delay: 0d (expected a number followed by s, m, h or d)"
            ])
        #expect(
            errors("smtp sub-addr-delim \"ab\"" + rule) == [
                "smtpd.conf:1: subaddressing-delimiter must be one character"
            ])
        #expect(
            errors("smtp sub-addr-delim \"@\"" + rule) == [
                "smtpd.conf:1: sub-addr-delim uses invalid character"
            ])
        #expect(errors("pki p dhe strong" + rule) == ["smtpd.conf:1: invalid DHE keyword: strong"])
        #expect(errors("action a maildir \"\"" + rule) == ["smtpd.conf:1: empty maildir path"])
        #expect(
            errors("action a mbox user root" + rule) == [
                "smtpd.conf:1: user may not be specified for this dispatcher"
            ])
        #expect(
            errors("action a relay auth { a = b }" + rule) == [
                "smtpd.conf:1: auth may not be specified without host on a dispatcher"
            ])
        #expect(
            errors("action a relay srs" + rule) == [
                "smtpd.conf:1: an srs key is required for srs to be specified in an action"
            ])
        #expect(
            errors("listen on lo tag abcdefghijabcdefghijabcdefghijab" + rule) == [
                "smtpd.conf:1: tag name too long"
            ])
    }

    @Test func tableErrors() {
        #expect(errors("table t { }" + rule) == ["smtpd.conf:1: syntax error: empty table"])
        #expect(
            errors("table t { a, b = c }" + rule) == [
                "smtpd.conf:1: a table holds either values or key = value pairs, not both"
            ])
        #expect(
            errors("table t { a,\n b\nlisten on lo port 0" + rule)
                == [
                    "smtpd.conf:3: missing \"}\" to close the table opened at line 1",
                    "smtpd.conf:3: invalid port: 0 (must be 1-65535)",
                ])
        #expect(
            errors("match for any reject\ntable t { a,\n b")
                == ["smtpd.conf:3: missing \"}\" to close the table opened at line 2"])
        #expect(
            errors("table t { @ }" + rule)
                == [
                    "smtpd.conf:1: syntax error: unexpected \"@\" after \"table t {\", expected a table value (quote values with special characters: \"@\")"
                ])
    }

    @Test func oldGrammarErrors() {
        #expect(
            errors("accept from any for any") == [
                "smtpd.conf:1: accept needs a delivery: deliver to maildir|mbox|lmtp|mda, relay or forward-only",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("reject for any deliver to mbox") == [
                "smtpd.conf:1: syntax error: unexpected \"deliver\" after \"reject for any\", expected from, for, sender, recipient, tagged or authenticated (reject takes no action)",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("accept for any deliver to mbox relay") == [
                "smtpd.conf:1: only one of deliver to, relay and forward-only per rule",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("accept ! from any deliver to mbox") == [
                "smtpd.conf:1: syntax error: unexpected \"from\" after \"accept !\", expected authenticated (in the old grammar ! follows from, for, sender, recipient and tagged)",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("accept for any deliver to pigeon") == [
                "smtpd.conf:1: syntax error: unexpected \"pigeon\" after \"accept for any deliver to\", expected maildir, mbox, lmtp or mda",
                "smtpd.conf:1: no rules, nothing to do",
            ])
        #expect(
            errors("limit foo 3" + rule) == [
                "smtpd.conf:1: syntax error: unexpected \"foo\" after \"limit\", expected session, mda, mta or scheduler"
            ])
    }

    @Test func allErrorsAreCollectedInOrder() {
        let text = """
            listen on lo port 0
            action a foo
            table t /x
            match for any action nope
            listen on lo auth
            """
        #expect(
            errors(text) == [
                "smtpd.conf:1: invalid port: 0 (must be 1-65535)",
                "smtpd.conf:2: syntax error: unexpected \"foo\" after \"action a\", expected a method (maildir, mbox, lmtp, mda, expand-only, forward-only, relay)",
                "smtpd.conf:3: syntax error: unquoted path /x after \"table t\": paths must be quoted (\"/x\")",
                "smtpd.conf:4: no such dispatcher: nope",
                "smtpd.conf:5: invalid listen option: auth requires tls/smtps",
                "smtpd.conf:5: no rules, nothing to do",
            ])
        do {
            _ = try parse(text)
            Issue.record("parsed")
        } catch {
            #expect(error.description.split(separator: "\n").count == 6)
            #expect(error.errors[0].location == SourceLocation(file: "smtpd.conf", line: 1))
        }
    }
}
