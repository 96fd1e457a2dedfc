// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "MailLab",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SMTPServer", targets: ["SMTPServer"]),
        .library(name: "MailLabTesting", targets: ["MailLabTesting"]),
        .library(name: "LinuxSystem", targets: ["LinuxSystem"]),
        .library(name: "SMTPProtocol", targets: ["SMTPProtocol"]),
        .library(name: "SMTPConfig", targets: ["SMTPConfig"]),
        .library(name: "MaildirDelivery", targets: ["MaildirDelivery"]),
        .library(name: "MaildirInspection", targets: ["MaildirInspection"]),
        .library(name: "Namespaces", targets: ["Namespaces"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "SMTPClient", targets: ["SMTPClient"]),
        .library(name: "DNSMessage", targets: ["DNSMessage"]),
        .library(name: "DNSClient", targets: ["DNSClient"]),
        .library(name: "DHCP", targets: ["DHCP"]),
        .library(name: "DHCPClient", targets: ["DHCPClient"]),
        .library(name: "MailQueue", targets: ["MailQueue"]),
        .executable(name: "smtpd", targets: ["smtpd"]),
        .executable(name: "mlab", targets: ["mlab"]),
        .executable(name: "smtpctl", targets: ["smtpctl"]),
        .library(name: "ControlClient", targets: ["ControlClient"]),
        // The power-cut test's LD_PRELOAD shim (docs/DURABILITY.md); not for users.
        .library(name: "PowerCutSyncfs", type: .dynamic, targets: ["PowerCutSyncfs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // C surface: the Glibc pieces Swift does not import (see docs/ARCHITECTURE.md).
        .target(name: "CSystem", linkerSettings: [.linkedLibrary("crypt")]),
        .systemLibrary(
            name: "CMNL", pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),

        // The system layer every system-facing module stands on: one error type, one EINTR
        // policy, files, threads, socket addresses, clocks.
        .target(name: "LinuxSystem", dependencies: ["CSystem"], swiftSettings: strict),

        // Pure logic: no I/O (SMTPConfig reads the files it is told to include, through
        // LinuxSystem).
        .target(name: "SMTPProtocol", swiftSettings: strict),
        .target(
            name: "SMTPConfig", dependencies: ["LinuxSystem", "SMTPProtocol"],
            swiftSettings: strict),
        .target(name: "MailMessage", swiftSettings: strict),
        // Session transcripts: the pure file format and its conversion to a chat script.
        .target(name: "SessionTranscript", swiftSettings: strict),
        .target(name: "DHCP", swiftSettings: strict),
        // The version number, one place for the three programs.
        .target(name: "MailLabVersion", swiftSettings: strict),
        // smtpctl's requests and responses on the control socket, and OpenSMTPD's listings.
        .target(name: "ControlProtocol", swiftSettings: strict),

        // System-facing pieces.
        .target(
            name: "Reactor", dependencies: ["CSystem", "COpenSSL", "LinuxSystem"],
            swiftSettings: strict),
        .target(
            name: "MaildirDelivery", dependencies: ["CSystem", "LinuxSystem"],
            swiftSettings: strict),
        .target(
            name: "MaildirInspection",
            dependencies: ["MaildirDelivery", "MailMessage", "LinuxSystem"],
            swiftSettings: strict),
        // The relay queue: spool, scheduler, the client side of SMTP to next hops, bounces.
        .target(
            name: "MailQueue",
            dependencies: [
                "LinuxSystem", "MaildirDelivery", "SMTPProtocol", "SMTPClient", "Reactor",
            ],
            swiftSettings: strict),
        .target(
            name: "SMTPServer",
            dependencies: [
                "Reactor", "SMTPProtocol", "SMTPConfig", "MaildirDelivery", "LinuxSystem",
                "CSystem", "MailQueue", "ControlProtocol",
                "SessionTranscript",
            ],
            swiftSettings: strict),
        // The client side of the control socket (smtpctl, mlab).
        .target(
            name: "ControlClient", dependencies: ["ControlProtocol", "LinuxSystem"],
            swiftSettings: strict),
        // The Swift Testing trait for tests that need a mail server (a library for users).
        .target(
            name: "MailLabTesting",
            dependencies: [
                "SMTPServer", "MailMessage", "LinuxSystem", "SMTPConfig", "SessionTranscript",
            ],
            swiftSettings: strict),
        .target(
            name: "Namespaces", dependencies: ["CSystem", "LinuxSystem"], swiftSettings: strict),
        .target(
            name: "Netlink", dependencies: ["CMNL", "CSystem", "LinuxSystem", "Namespaces"],
            swiftSettings: strict),
        .target(
            name: "DHCPClient", dependencies: ["DHCP", "Netlink", "Namespaces", "LinuxSystem"],
            swiftSettings: strict),
        .target(
            name: "Lab",
            dependencies: ["Netlink", "Namespaces", "LinuxSystem", "DHCP", "DHCPClient"],
            swiftSettings: strict),
        .target(
            name: "SMTPClient",
            dependencies: ["CSystem", "LinuxSystem", "Namespaces", "SMTPProtocol"],
            swiftSettings: strict),
        // DNS: the pure message codec, and the stub resolver (resolv.conf, UDP/TCP, MX for
        // mail) on top of it.
        .target(name: "DNSMessage", swiftSettings: strict),
        .target(
            name: "DNSClient", dependencies: ["DNSMessage", "LinuxSystem", "Namespaces"],
            swiftSettings: strict),

        // Thin command-line front ends.
        .executableTarget(
            name: "smtpd",
            dependencies: [
                "SMTPServer", "SMTPConfig", "Namespaces", "LinuxSystem", "MailQueue", "DNSClient",
                "MailLabVersion",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "mlab",
            dependencies: [
                "Lab", "Netlink", "Namespaces", "SMTPClient", "MaildirDelivery",
                "MaildirInspection", "LinuxSystem", "DNSClient", "DNSMessage", "DHCP",
                "DHCPClient", "ControlClient", "ControlProtocol",
                "SessionTranscript", "MailLabVersion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .executableTarget(
            name: "smtpctl",
            dependencies: [
                "ControlClient", "ControlProtocol", "CSystem", "LinuxSystem", "MailLabVersion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .testTarget(
            name: "LinuxSystemTests",
            dependencies: ["LinuxSystem", "CSystem", "MailLabTestSupport"]),
        .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"]),
        .testTarget(
            name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "MailLabTestSupport"]),
        .testTarget(name: "SMTPConfigTests", dependencies: ["SMTPConfig"]),
        .testTarget(name: "DHCPTests", dependencies: ["DHCP"]),
        .testTarget(
            name: "ReactorTests",
            dependencies: ["Reactor", "CSystem", "LinuxSystem", "MailLabTestSupport"]),
        .testTarget(
            name: "MaildirTests",
            dependencies: [
                "MaildirDelivery", "MaildirInspection", "MailMessage", "LinuxSystem",
                "MailLabTestSupport",
            ]),
        .testTarget(
            name: "SMTPServerTests",
            dependencies: [
                "SMTPServer", "SMTPProtocol", "SMTPConfig", "MaildirDelivery",
                "MaildirInspection", "SMTPClient", "Netlink", "Namespaces", "LinuxSystem",
                "MailLabTestSupport", "MailLabTesting", "ControlProtocol", "ControlClient",
                "SessionTranscript", "MailLabVersion", "MailQueue",
            ]),
        // Helpers shared by the test targets (not products): the policy for external tools,
        // a throw-away TLS certificate, OpenSMTPD's recorded transcripts (their files are in
        // Tests/Fixtures); and, for the namespace tests, iproute2 as observer.
        .target(
            name: "MailLabTestSupport", dependencies: ["TestProcessSignals", "LinuxSystem"],
            path: "Tests/MailLabTestSupport", swiftSettings: strict),
        // SIGPIPE ignored in the test process (a peer closing on purpose is an EPIPE).
        .target(name: "TestProcessSignals", path: "Tests/TestProcessSignals"),
        .target(
            name: "NamespaceTestSupport",
            dependencies: ["Netlink", "Namespaces", "MailLabTestSupport"],
            path: "Tests/NamespaceTestSupport", swiftSettings: strict),
        .testTarget(
            name: "NetlinkTests",
            dependencies: [
                "Netlink", "Namespaces", "CSystem", "LinuxSystem", "NamespaceTestSupport",
                "MailLabTestSupport",
            ]),
        .testTarget(
            name: "LabTests",
            dependencies: [
                "Lab", "Netlink", "Namespaces", "LinuxSystem", "NamespaceTestSupport",
                "MailLabTestSupport", "DHCP", "DHCPClient", "MailLabVersion",
            ]),
        // The power-cut test's tools (docs/DURABILITY.md): a FUSE file system that forgets
        // everything not flushed on "power off", and the shim that lets it see syncfs.
        .systemLibrary(
            name: "CFuse3", path: "Tests/PowerCut/CFuse3", pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]),
        .executableTarget(
            name: "powercut-fs", dependencies: ["CFuse3"], path: "Tests/PowerCut/PowerCutFS"),
        .target(name: "PowerCutSyncfs", path: "Tests/PowerCut/PowerCutSyncfs"),
        .testTarget(
            name: "MailQueueTests",
            dependencies: [
                "MailQueue", "SMTPProtocol", "SMTPClient", "LinuxSystem", "MailLabTestSupport",
                "MaildirDelivery",
            ]),
        .testTarget(
            name: "SMTPClientTests",
            dependencies: [
                "SMTPClient", "Reactor", "Netlink", "Namespaces", "LinuxSystem",
                "MailLabTestSupport",
            ]),
        .testTarget(name: "DNSMessageTests", dependencies: ["DNSMessage"]),
        .testTarget(name: "SessionTranscriptTests", dependencies: ["SessionTranscript"]),
        .testTarget(
            name: "DNSClientTests",
            dependencies: [
                "DNSClient", "DNSMessage", "Lab", "Netlink", "Namespaces", "LinuxSystem",
                "NamespaceTestSupport", "MailLabTestSupport",
            ]),
        // make install into a scratch DESTDIR, and the man pages against the parsers' lists.
        .testTarget(
            name: "InstallTests", dependencies: ["SMTPConfig", "Lab", "MailLabTestSupport"]),
    ]
)

// libFuzzer targets (docs/FUZZING.md), only for `make fuzz` (MAILLAB_FUZZ set): built with
// `-sanitize=fuzzer,address -enable-testing` (the address parser is internal), each an
// executable whose main is libFuzzer's.
if Context.environment["MAILLAB_FUZZ"] != nil {
    let fuzzTargets: [(name: String, dependency: String)] = [
        ("FuzzSession", "SMTPProtocol"), ("FuzzAddress", "SMTPProtocol"),
        ("FuzzConfig", "SMTPConfig"), ("FuzzLab", "Lab"), ("FuzzChat", "SMTPClient"),
        ("FuzzMIME", "MailMessage"), ("FuzzTranscript", "SessionTranscript"),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"))
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name,
                dependencies: [.byName(name: target.dependency), "FuzzSupport"],
                path: "Fuzz/\(target.name)",
                swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]))
    }
}
