/// Reports for grading several scripts: TAP (version 13) and JUnit XML.
public enum ChatReport {
    /// TAP: `ok N - name` / `not ok N - name` with the failure in a YAML block; the transcript
    /// of a failed script follows as `# ` comments.
    public static func tap(_ outcomes: [ChatOutcome]) -> String {
        var out = "TAP version 13\n1..\(outcomes.count)\n"
        for (index, outcome) in outcomes.enumerated() {
            let number = index + 1
            guard let failure = outcome.failure else {
                out += "ok \(number) - \(outcome.script)\n"
                continue
            }
            out += "not ok \(number) - \(outcome.script)\n"
            out += "  ---\n"
            out += "  message: \(yamlQuoted(failure.description))\n"
            out += "  at: \(yamlQuoted("\(failure.file):\(failure.line)"))\n"
            out += "  expected: \(yamlQuoted(failure.expected))\n"
            out += "  got: \(yamlQuoted(failure.got))\n"
            out += "  ...\n"
            for line in outcome.transcript { out += "# \(line)\n" }
        }
        return out
    }

    /// JUnit XML: one `testsuite` named `suite`, one `testcase` per script; a failure carries
    /// the account as its message and the transcript as its text.
    public static func junit(_ outcomes: [ChatOutcome], suite: String = "mlab chat") -> String {
        let failures = outcomes.filter { !$0.passed }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out +=
            "<testsuite name=\"\(xmlEscaped(suite))\" tests=\"\(outcomes.count)\" failures=\"\(failures)\" errors=\"0\">\n"
        for outcome in outcomes {
            out += "  <testcase classname=\"chat\" name=\"\(xmlEscaped(outcome.script))\""
            let transcript = xmlEscaped(outcome.transcript.joined(separator: "\n"))
            if let failure = outcome.failure {
                out += ">\n    <failure message=\"\(xmlEscaped(failure.description))\">"
                out += transcript + "</failure>\n  </testcase>\n"
            } else {
                out += ">\n    <system-out>\(transcript)</system-out>\n  </testcase>\n"
            }
        }
        out += "</testsuite>\n"
        return out
    }

    static func yamlQuoted(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }

    /// XML 1.0 text: the five entities, and control characters (not allowed in XML 1.0,
    /// even as references) shown as `\xNN`.
    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
