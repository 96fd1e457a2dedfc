/// smtpd's command line, parsed the getopt way so that OpenSMTPD's usage carries over:
/// `smtpd [-dFhnv] [-D macro=value] [-f file] [-N netns] [-s socket] [-T trace]`.
struct Arguments {
    var foreground = false  // -d: foreground, log to stderr
    var foregroundSyslog = false  // -F: foreground, log to syslog
    var help = false
    var checkOnly = false
    var verbose = false
    var macros: [String: String] = [:]
    var configPath = "/etc/smtpd.conf"
    /// MailLab addition: run inside this named network namespace (`ip netns` name).
    var namespace: String?
    /// MailLab addition: the control socket (OpenSMTPD's is fixed at build time; its smtpd
    /// has no `-s`). Wins over the file's `control socket`.
    var controlSocket: String?
    var traces: Set<String> = []
    var warnings: [String] = []

    static let usage =
        "usage: smtpd [-dFhnv] [-D macro=value] [-f file] [-N netns] [-s socket] [-T trace]"

    /// Trace categories OpenSMTPD knows; MailLab implements `smtp` (and `all`).
    static let knownTraces: Set<String> = [
        "imsg", "io", "smtp", "filters", "mta", "transfer", "bounce", "bounces", "scheduler",
        "lookup", "stat", "stats", "rules", "mproc", "expand", "table", "tables", "queue", "all",
        "profstat", "profile-imsg", "profile-queue",
    ]

    struct UsageError: Error {
        var message: String
    }

    init(_ arguments: [String]) throws(UsageError) {
        var index = 0
        func value(for flag: Character, rest: Substring) throws(UsageError) -> String {
            if !rest.isEmpty { return String(rest) }
            index += 1
            guard index < arguments.count else {
                throw UsageError(message: "smtpd: option requires an argument -- '\(flag)'")
            }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                index += 1
                break
            }
            guard argument.hasPrefix("-"), argument.count > 1 else { break }
            var flags = argument.dropFirst()
            while let flag = flags.first {
                flags = flags.dropFirst()
                switch flag {
                case "d": foreground = true
                case "F": foregroundSyslog = true
                case "h": help = true
                case "n": checkOnly = true
                case "v": verbose = true
                case "f":
                    configPath = try value(for: flag, rest: flags)
                    flags = ""
                case "N":
                    namespace = try value(for: flag, rest: flags)
                    flags = ""
                case "s":
                    controlSocket = try value(for: flag, rest: flags)
                    flags = ""
                case "D":
                    let definition = try value(for: flag, rest: flags)
                    flags = ""
                    guard let equals = definition.firstIndex(of: "="),
                        equals != definition.startIndex
                    else {
                        throw UsageError(
                            message: "smtpd: could not parse macro definition \(definition)")
                    }
                    macros[String(definition[..<equals])] = String(
                        definition[definition.index(after: equals)...])
                case "T":
                    let category = try value(for: flag, rest: flags)
                    flags = ""
                    if Self.knownTraces.contains(category) {
                        traces.insert(category)
                    } else {
                        warnings.append("warn: unknown trace flag \"\(category)\"")
                    }
                case "P":
                    let system = try value(for: flag, rest: flags)
                    flags = ""
                    warnings.append("warn: -P \(system): MailLab has no paused subsystems; ignored")
                default:
                    throw UsageError(message: "smtpd: invalid option -- '\(flag)'")
                }
            }
            index += 1
        }
        if index < arguments.count {
            throw UsageError(message: "smtpd: unexpected argument \(arguments[index])")
        }
    }

    var traceSMTP: Bool { traces.contains("smtp") || traces.contains("all") }
}
