// swift-tools-version: 6.0
// A user's package testing its own mail-sending code with MailLab's `.mailServer` trait.
// `make test` builds and runs it against the checkout it lives in.
import PackageDescription

let package = Package(
    name: "MailServerTraitExample",
    dependencies: [.package(name: "MailLab", path: "../..")],
    targets: [
        .target(name: "Signup"),
        .testTarget(
            name: "SignupMailTests",
            dependencies: ["Signup", .product(name: "MailLabTesting", package: "MailLab")]),
    ]
)
