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
        .library(name: "SMTPProtocol", targets: ["SMTPProtocol"]),
        .library(name: "SMTPConfig", targets: ["SMTPConfig"]),
        .library(name: "Maildir", targets: ["Maildir"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "SMTPClient", targets: ["SMTPClient"]),
        .executable(name: "smtpd", targets: ["smtpd"]),
        .executable(name: "mlab", targets: ["mlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // C surface: the Glibc pieces Swift does not import (see docs/ARCHITECTURE.md).
        .target(name: "CSystem"),
        .systemLibrary(
            name: "CMNL", pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),

        // Pure logic: no I/O.
        .target(name: "SMTPProtocol", swiftSettings: strict),
        .target(name: "SMTPConfig", swiftSettings: strict),
        .target(name: "MailMessage", swiftSettings: strict),

        // System-facing pieces.
        .target(
            name: "Reactor", dependencies: ["CSystem", "COpenSSL"], swiftSettings: strict),
        .target(name: "Maildir", dependencies: ["CSystem", "MailMessage"], swiftSettings: strict),
        .target(
            name: "SMTPServer",
            dependencies: ["Reactor", "SMTPProtocol", "SMTPConfig", "Maildir", "CSystem"],
            swiftSettings: strict),
        .target(name: "Netlink", dependencies: ["CMNL", "CSystem"], swiftSettings: strict),
        .target(name: "Lab", dependencies: ["Netlink"], swiftSettings: strict),
        .target(
            name: "SMTPClient", dependencies: ["CSystem", "Netlink"], swiftSettings: strict),

        // Thin command-line front ends.
        .executableTarget(
            name: "smtpd",
            dependencies: ["SMTPServer", "SMTPConfig", "Netlink"],
            swiftSettings: strict),
        .executableTarget(
            name: "mlab",
            dependencies: [
                "Lab", "Netlink", "SMTPClient", "Maildir",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .testTarget(
            name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "MailLabTestSupport"]),
        .testTarget(name: "SMTPConfigTests", dependencies: ["SMTPConfig"]),
        .testTarget(
            name: "ReactorTests", dependencies: ["Reactor", "CSystem", "MailLabTestSupport"]),
        .testTarget(
            name: "MaildirTests", dependencies: ["Maildir", "MailMessage", "MailLabTestSupport"]),
        .testTarget(
            name: "SMTPServerTests",
            dependencies: [
                "SMTPServer", "SMTPProtocol", "SMTPConfig", "Maildir", "SMTPClient", "Netlink",
                "MailLabTestSupport",
            ]),
        // Helpers shared by the test targets (not products): the policy for external tools,
        // a throw-away TLS certificate, OpenSMTPD's recorded transcripts (their files are in
        // Tests/Fixtures); and, for the namespace tests, iproute2 as observer.
        .target(
            name: "MailLabTestSupport", path: "Tests/MailLabTestSupport", swiftSettings: strict),
        .target(
            name: "NamespaceTestSupport", dependencies: ["Netlink", "MailLabTestSupport"],
            path: "Tests/NamespaceTestSupport", swiftSettings: strict),
        .testTarget(
            name: "NetlinkTests",
            dependencies: ["Netlink", "CSystem", "NamespaceTestSupport", "MailLabTestSupport"]),
        .testTarget(
            name: "LabTests",
            dependencies: ["Lab", "Netlink", "NamespaceTestSupport", "MailLabTestSupport"]),
        .testTarget(
            name: "SMTPClientTests",
            dependencies: ["SMTPClient", "Reactor", "Netlink", "MailLabTestSupport"]),
    ]
)
