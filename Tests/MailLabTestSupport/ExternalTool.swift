import Foundation
import Testing

// The programs tests talk to that are not this package's code, and what a test does when one
// is missing: in CI (`CI` set) that is a failure naming the tool and where it comes from;
// elsewhere the test is skipped, with a warning that says why. Never a silent pass.

/// A program a test runs: a Debian package's (`make deps` installs them all) or one this
/// package builds.
public struct ExternalTool: Sendable, CustomStringConvertible {
    public let name: String
    /// Where the tool comes from, for the message when it is missing.
    public let origin: String
    /// Every program the tool needs; the first is the one tests run.
    public let programs: [String]
    private let probe: @Sendable () -> Bool

    public var path: String { programs[0] }
    public var description: String { name }

    /// Whether every program is there and executable (and `probe` agrees).
    public var isInstalled: Bool {
        programs.allSatisfy { access($0, X_OK) == 0 } && probe()
    }

    /// The message for a missing tool.
    public var missingMessage: String {
        let absent = programs.filter { access($0, X_OK) != 0 }
        let what = absent.isEmpty ? "" : " (\(absent.joined(separator: ", ")) not found)"
        return "\(name) is not installed\(what): \(origin)"
    }

    init(
        name: String, origin: String, programs: [String],
        probe: @escaping @Sendable () -> Bool = { true }
    ) {
        self.name = name
        self.origin = origin
        self.programs = programs
        self.probe = probe
    }

    /// A tool from a Debian package in the Makefile's DEB_PACKAGES.
    static func debian(_ package: String, _ programs: String..., name: String? = nil) -> Self {
        ExternalTool(
            name: name ?? package, origin: "Debian package \(package); `make deps` installs it",
            programs: programs)
    }

    public static let python3 = debian("python3", "/usr/bin/python3")
    public static let curl = debian("curl", "/usr/bin/curl")
    public static let swaks = debian("swaks", "/usr/bin/swaks")
    public static let openssl = debian("openssl", "/usr/bin/openssl")
    public static let mblaze = debian("mblaze", "/usr/bin/mlist", "/usr/bin/mscan")
    public static let ip = debian("iproute2", "/usr/sbin/ip", name: "ip")
    public static let bridge = debian("iproute2", "/usr/sbin/bridge", name: "bridge")
    public static let tmux = debian("tmux", "/usr/bin/tmux")
    public static let mandoc = debian("mandoc", "/usr/bin/mandoc")
    public static let man = debian("man-db", "/usr/bin/man", name: "man")
    /// Debian's Postfix: the MTA, its sendmail, smtp-source and smtp-sink; run privately
    /// (`postfix -c DIR`), never as the system's mail server.
    public static let postfix = debian(
        "postfix", "/usr/sbin/postfix", "/usr/sbin/postsuper", "/usr/sbin/sendmail",
        "/usr/sbin/smtp-source", "/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/master")
    /// Postfix's SASL client needs Cyrus SASL's PLAIN and LOGIN plugins (libraries, not
    /// programs: checked for reading, with Postfix's smtp(8) as the program).
    public static let saslModules = ExternalTool(
        name: "libsasl2-modules",
        origin: "Debian package libsasl2-modules (Cyrus SASL PLAIN and LOGIN, "
            + "/usr/lib/\(multiarch)/sasl2); `make deps` installs it",
        programs: ["/usr/lib/postfix/sbin/smtp"],
        probe: {
            ["libplain.so", "liblogin.so"].allSatisfy {
                access("/usr/lib/\(multiarch)/sasl2/" + $0, R_OK) == 0
            }
        })
    public static let msmtp = debian("msmtp", "/usr/bin/msmtp")
    /// Perl's Net::SMTP (libnet, part of Debian's perl), whose `bdat` sends CHUNKING.
    public static let perl = debian("perl", "/usr/bin/perl")
    public static let dnsmasq = debian("dnsmasq-base", "/usr/sbin/dnsmasq", name: "dnsmasq")
    public static let dhclient = debian("isc-dhcp-client", "/usr/sbin/dhclient", name: "dhclient")
    public static let rsvgConvert = debian(
        "librsvg2-bin", "/usr/bin/rsvg-convert", name: "rsvg-convert")
    /// Python's aiosmtpd module, run as `python3 -m aiosmtpd`.
    public static let aiosmtpd = ExternalTool(
        name: "python3-aiosmtpd",
        origin: "Debian package python3-aiosmtpd; `make deps` installs it",
        programs: ["/usr/bin/python3"], probe: { aiosmtpdImports })

    #if arch(arm64)
        static let multiarch = "aarch64-linux-gnu"
    #else
        static let multiarch = "x86_64-linux-gnu"
    #endif

    public static let mlab = built("mlab")
    public static let smtpd = built("smtpd")
    public static let smtpctl = built("smtpctl")
    /// util-linux's setpriv: runs smtpctl as another user with chosen groups.
    public static let setpriv = debian("util-linux", "/usr/bin/setpriv", name: "setpriv")
    /// The power-cut file system and its syncfs shim (docs/DURABILITY.md): FUSE needs
    /// /dev/fuse and root.
    public static let powercutFS = ExternalTool(
        name: "powercut-fs",
        origin: "built by this package (`swift build`, needs libfuse3-dev: `make deps`); "
            + "runs as root with /dev/fuse",
        programs: [built("powercut-fs").path, built("libPowerCutSyncfs.so").path],
        probe: { getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 })

    /// A product of this package: next to the test bundle (`swift build` builds both into
    /// the same folder), else in `.build/debug` of the checkout.
    static func built(_ product: String) -> Self {
        let bundle =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var path = URL(fileURLWithPath: bundle).deletingLastPathComponent()
            .appendingPathComponent(product).path
        if access(path, X_OK) != 0 {
            path = packageRoot + "/.build/debug/" + product
        }
        return ExternalTool(
            name: product, origin: "built by this package: run `swift build` first",
            programs: [path])
    }
}

/// The checkout this file is in.
public let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// True when the tests run in CI (`CI` set to anything but "", "0" or "false"): missing
/// tools fail there instead of skipping.
public let runsInCI: Bool = {
    let value = ProcessInfo.processInfo.environment["CI"] ?? ""
    return !["", "0", "false"].contains(value.lowercased())
}()

private let aiosmtpdImports: Bool = {
    (try? runToEnd("/usr/bin/python3", ["-c", "import aiosmtpd"], timeout: 60))?.status == 0
}()

/// `.requires(.swaks)` on a test or suite: runs it only when every tool is installed. When
/// one is missing the test fails in CI and is skipped elsewhere, with a warning that names the
/// tool and its package.
public struct ToolRequirement: TestTrait, SuiteTrait, TestScoping {
    let tools: [ExternalTool]
    let sourceLocation: SourceLocation

    /// A suite is checked once, around all its tests.
    public var isRecursive: Bool { false }

    /// Once per test (or suite), not per test case: a parameterized test case that is
    /// cancelled is not reported as skipped.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? self : nil
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let missing = tools.filter { !$0.isInstalled }
        guard !missing.isEmpty else { return try await function() }
        let text = missing.map(\.missingMessage).joined(separator: "; ")
        if runsInCI {
            Issue.record(
                Comment(rawValue: "\(text) (CI is set: a missing tool fails)"),
                sourceLocation: sourceLocation)
            return
        }
        Issue.record(
            Comment(rawValue: "skipped: \(text)"), severity: .warning,
            sourceLocation: sourceLocation)
        try Test.cancel(Comment(rawValue: text), sourceLocation: sourceLocation)
    }
}

extension Trait where Self == ToolRequirement {
    /// Runs the test or suite only where `tools` are installed; see `ToolRequirement`.
    public static func requires(
        _ tools: ExternalTool..., sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        ToolRequirement(tools: tools, sourceLocation: sourceLocation)
    }
}
