import ArgumentParser
import Glibc
import Lab
import Netlink

/// `mlab lab up|down|status|check FILE`.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Bring a lab file up or down, compare it with reality, probe it.",
        discussion: "The lab file format is described in docs/LABS.md.",
        subcommands: [
            Up.self, Down.self, Status.self, Check.self, Graph.self, Shell.self, Bench.self,
            LabSmtpctlCommand.self,
        ])

    /// The lab file and how to rename it (to run a lab twice side by side, or in tests).
    struct LabOptions: ParsableArguments {
        @Argument(help: "The lab file, e.g. conf/lab-seed.conf.") var file: String
        @Option(
            help: ArgumentHelp(
                "Prefix for every namespace and interface name of the lab (default: $MLAB_PREFIX), so that several people can run one lab on one machine.",
                discussion: "Interface names must still fit in 15 bytes: keep it short."))
        var prefix: String?
        @Option(help: "Prefix for every namespace name of the lab.") var netnsPrefix: String = ""
        @Option(help: "Prefix for every interface name (names stay within 15 bytes).") var ifPrefix:
            String = ""
        @Option(help: "Use this namespace (created and owned by the lab) as the lab's host.")
        var host: String?

        func load() throws -> LabSpec {
            let text = try readTextFile(file)
            let shared = prefix ?? getenv("MLAB_PREFIX").map { String(cString: $0) } ?? ""
            let renaming = LabRenaming(
                namespacePrefix: netnsPrefix + shared, interfacePrefix: ifPrefix + shared,
                hostNamespace: host)
            return try LabParser.parse(text, file: file, renaming: renaming)
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract:
                "Create what is missing, then start the lab's servers and wait until they are ready; roll everything back on failure. A second up changes nothing but restarting servers that died."
        )
        @OptionGroup var lab: LabOptions
        @Flag(help: "Print nothing but errors.") var quiet = false
        @Flag(
            help:
                "Use namespaces and links that exist but that this lab did not create (down leaves them)."
        )
        var adopt = false
        @Option(
            name: .customLong("allow-nic"),
            help:
                "Let an `uplink … nic NAME` plug this real NIC into the lab's bridge (repeatable). Puts the lab on the real network."
        )
        var allowedNICs: [String] = []

        func run() throws {
            let spec = try lab.load()
            for uplink in spec.nicUplinks where allowedNICs.contains(uplink.nic) {
                printToStandardError(
                    "mlab: WARNING: \(spec.location(uplink.line)): plugging the real NIC \(uplink.nic) into bridge \(spec.renaming.fileName(of: uplink.bridge)): the lab's namespaces reach, and are reached from, the network behind \(uplink.nic)"
                )
            }
            let report = try Lab.up(
                spec, adopt: adopt, allowNICs: Set(allowedNICs),
                progress: { step in if !quiet { print("+ \(step)") } })
            guard !quiet else { return }
            for (server, record) in report.started {
                print(
                    "+ \(server.summary(spec.renaming)): ready (pid \(record.pid), log \(record.log))"
                )
            }
            for record in report.leases {
                print(
                    "+ addr \(spec.renaming.fileName(of: record.interface)) dhcp: \(record.lease)")
            }
            let count = report.applied.count + report.started.count + report.leases.count
            print(
                report.isUnchanged
                    ? "lab \(spec.name): already up, nothing changed"
                    : "lab \(spec.name): up (\(changes(count)))"
            )
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "down",
            abstract:
                "Stop the lab's servers, undo exactly what up made (its state file under /run/mlab/labs), nothing else."
        )
        @OptionGroup var lab: LabOptions
        @Flag(help: "Print nothing but errors.") var quiet = false

        func run() throws {
            let spec = try lab.load()
            let done = try Lab.down(spec) { action in if !quiet { print("- \(action)") } }
            guard !quiet else { return }
            print(
                done.isEmpty
                    ? "lab \(spec.name): already down, nothing to do" : "lab \(spec.name): down")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract:
                "Desired against actual, object by object, and drift. Exits 1 unless exactly up.")
        @OptionGroup var lab: LabOptions

        func run() throws {
            let spec = try lab.load()
            let status = try Lab.status(spec)
            for item in status.items { print(item) }
            for extra in status.drift { print("drift    \(extra)") }
            for lease in status.leases { print(lease.line(spec.renaming)) }
            for server in status.servers {
                print(server.line(spec.renaming))
                if server.isRunning, let socket = server.controlSocket {
                    print("         " + ControlSummary.queueLine(socket: socket))
                }
            }
            let missing = status.items.filter { $0.state != .present }.count
            if status.isUp {
                print("lab \(spec.name): up")
            } else if status.isDown {
                print("lab \(spec.name): down")
                throw ExitCode(1)
            } else {
                print(
                    "lab \(spec.name): \(missing) of \(status.items.count) missing, \(status.drift.count) drift"
                )
                throw ExitCode(1)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract:
                "Probe the lab's expect lines (else every namespace → address pair, TCP) and print the matrix. Exits 1 when a cell is not as intended.",
            discussion:
                "ok: reached, as intended; --: not reached, as intended; OK! or --!: the opposite (with a footnote naming the cause); .: no intent for the pair; n/a: not probed. --json prints one JSON object instead (schema in docs/LABS.md)."
        )
        @OptionGroup var lab: LabOptions
        @Option(help: "Connect (or echo) timeout per probe, in milliseconds.") var timeout: Int32 =
            400
        @Flag(help: "Print the result as one JSON object (for graders) instead of the matrix.")
        var json = false

        func run() throws {
            let spec = try lab.load()
            let timeout = timeout
            let result: LabCheckResult
            do {
                result = try waitFor { try await Lab.check(spec, timeoutMilliseconds: timeout) }
            } catch let error as LabError where json {
                // A grader reads stdout: it gets an object there too (the error also on stderr).
                print(LabCheckResult.json(lab: spec.name, file: spec.file, error: "\(error)"))
                throw error
            }
            if json {
                print(
                    result.json(
                        lab: spec.name, file: spec.file,
                        namespaceName: spec.renaming.fileName(ofNamespace:)))
                if !result.passed { throw ExitCode(1) }
                return
            }
            print(result.matrix(namespaceName: spec.renaming.fileName(ofNamespace:)))
            let surprises = result.probes.filter { !$0.matches }.count
            print(
                result.passed
                    ? "lab \(spec.name): check passed"
                    : "lab \(spec.name): check FAILED (\(surprises) surprises)")
            if !result.passed { throw ExitCode(1) }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Time up+down of a lab inside one process (for bench/lab-vs-ip.sh).",
            shouldDisplay: false)
        @OptionGroup var lab: LabOptions
        @Option(help: "How many up+down rounds.") var rounds = 20

        func run() throws {
            let spec = try lab.load()
            let clock = ContinuousClock()
            let elapsed = try clock.measure {
                for _ in 0..<rounds {
                    _ = try Lab.up(spec)
                    _ = try Lab.down(spec)
                }
            }
            let micros =
                elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds
                / 1_000_000_000_000
            print("\(micros / Int64(rounds))")
        }
    }
}
