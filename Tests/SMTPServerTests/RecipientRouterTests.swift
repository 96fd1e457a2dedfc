import SMTPConfig
import SMTPProtocol
import Synchronization
import Testing

@testable import SMTPServer

private struct RouterTestUsers: UserDatabase {
    var names: Set<String> = ["root", "osdrefuser", "nobody", ".."]
    func user(named name: String) -> LocalUser? {
        names.contains(name) ? LocalUser(name: name, home: "/home/\(name)") : nil
    }
}

private final class Warnings: Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
}

private func router(
    _ text: String, warnings: Warnings = Warnings(), delimiter: String = "+"
) throws -> RecipientRouter {
    let configuration = try SMTPConfiguration.parse(
        text, fileName: "test.conf", includeLoader: { _ in "" })
    let environment = RecipientRouter.Environment(
        serverName: "vm", listenerTag: "inbound",
        localNames: ["localhost", "vm", "127.0.0.1", "[127.0.0.1]"],
        localAddresses: ["127.0.0.1", "10.0.0.2"], workingDirectory: "/srv/lab",
        subaddressDelimiter: delimiter)
    return try RecipientRouter(
        configuration: configuration, environment: environment, users: RouterTestUsers(),
        warn: { line in warnings.lines.withLock { $0.append(line) } })
}

private func verdict(
    _ router: RecipientRouter, _ address: String, from peer: String = "127.0.0.1",
    sender: ReversePath = .null, helo: String = "defaultNS"
) -> RecipientVerdict {
    let at = address.lastIndex(of: "@")!
    let recipient = MailAddress(
        localPart: String(address[..<at]), domain: String(address[address.index(after: at)...]))
    let context = RecipientContext(peer: PeerInfo(address: peer), heloName: helo, sender: sender)
    return router.evaluate(recipient, context: context)
}

private func mailbox(_ verdict: RecipientVerdict) -> String? {
    if case .accept(let route) = verdict { return route.mailbox }
    return nil
}

private let seed = """
    listen on bbb port 25
    accept from any for local deliver to maildir "/tmp/maildir"
    """

@Test(arguments: [
    ("root@localhost", "/tmp/maildir"), ("osdrefuser@vm", "/tmp/maildir"),
    ("OSDREFUSER@localhost", "/tmp/maildir"), ("osdrefuser+tag@localhost", "/tmp/maildir"),
    ("osdrefuser@[127.0.0.1]", "/tmp/maildir"), ("osdrefuser@LOCALHOST", "/tmp/maildir"),
])
func seedConfigAcceptsLocalUsers(address: String, expected: String) throws {
    #expect(mailbox(verdict(try router(seed), address)) == expected)
}

/// The delimiter cuts the local part at its first occurrence, an ASCII one (searched as a
/// byte) or not (searched as a Character).
@Test(arguments: [
    ("+", "osdrefuser+a+b@localhost", true), ("-", "osdrefuser-tag@localhost", true),
    ("§", "osdrefuser§tag@localhost", true), ("§", "osdrefuser+tag@localhost", false),
    ("+", "osdrefuser-tag@localhost", false),
])
func theSubaddressDelimiterCutsTheLocalPart(delimiter: String, address: String, accepted: Bool)
    throws
{
    let verdict = verdict(try router(seed, delimiter: delimiter), address)
    #expect((mailbox(verdict) == "/tmp/maildir") == accepted, "\(verdict)")
}

@Test(arguments: [
    "nobody-such-user@localhost", "x@example.com", "postmaster@localhost", "root@vm.example",
])
func seedConfigRefusesUnknownUsersAndRelaying(address: String) throws {
    #expect(verdict(try router(seed), address) == .reject)
}

@Test func defaultMaildirIsInTheUsersHome() throws {
    let r = try router(
        """
        listen on lo
        action "local" maildir
        match from any for local action "local"
        """)
    #expect(mailbox(verdict(r, "root@localhost")) == "/home/root/Maildir")
}

@Test func catchAllVirtualTableTakesAnyAddressIntoARelativeMaildir() throws {
    let r = try router(
        """
        listen on localhost port 2525
        action "local" maildir "maildir" virtual { "@" = "nobody" }
        match from any for any action "local"
        """)
    for address in ["anyone@anywhere.example", "x@y", "root@localhost"] {
        #expect(mailbox(verdict(r, address)) == "/srv/lab/maildir")
    }
}

@Test func recipientTextNeverLeavesTheMaildirRoot() throws {
    let r = try router(
        """
        listen on lo
        action "per" maildir "/var/mail/%{rcpt.user}" virtual { "@" = "nobody" }
        match from any for any action "per"
        """)
    // A dot-atom may contain "/": it must not become a path separator.
    #expect(mailbox(verdict(r, "a/b@x.example")) == "/var/mail/a:b")
    let byUser = try router(
        """
        listen on lo
        action "u" maildir "/var/mail/%{user.username}" virtual { "@" = ".." }
        match from any for any action "u"
        """)
    #expect(verdict(byUser, "a@x.example") == .temporaryFailure)
}

/// The byte-wise replacement behind that rule: every `/` becomes `:`, all else is kept.
@Test func replacingSlashesTurnsEverySlashIntoAColonAndKeepsTheRest() {
    #expect("a/b/c".replacingSlashes() == "a:b:c")
    #expect("plain".replacingSlashes() == "plain")
    #expect("ü/ß".replacingSlashes() == "ü:ß")
}

@Test func firstMatchingRuleWinsAndRejectRulesRefuse() throws {
    let r = try router(
        """
        listen on lo
        action "a" maildir "/m/a" virtual { "@" = "nobody" }
        action "b" maildir "/m/b" virtual { "@" = "nobody" }
        match from any for domain "*.blocked.example" reject
        match from src 10.0.0.0/24 for any action "a"
        match from any for domain { "x.example", "y.example" } action "b"
        """)
    #expect(verdict(r, "u@mail.blocked.example", from: "10.0.0.5") == .reject)
    #expect(mailbox(verdict(r, "u@x.example", from: "10.0.0.5")) == "/m/a")
    #expect(mailbox(verdict(r, "u@x.example", from: "192.0.2.1")) == "/m/b")
    #expect(verdict(r, "u@z.example", from: "192.0.2.1") == .reject)
}

@Test func negatedAndEnvelopeConditions() throws {
    let r = try router(
        """
        listen on lo tag inbound
        action "a" maildir "/m/a" virtual { "@" = "nobody" }
        match !from local for any action "a"
        match from local mail-from "@trusted.example" for any action "a"
        match tag inbound helo "special" for any action "a"
        """)
    #expect(mailbox(verdict(r, "u@x", from: "192.0.2.1")) == "/m/a")
    #expect(verdict(r, "u@x", from: "10.0.0.2") == .reject)
    let trusted = ReversePath.address(MailAddress(localPart: "s", domain: "trusted.example"))
    #expect(mailbox(verdict(r, "u@x", from: "10.0.0.2", sender: trusted)) == "/m/a")
    #expect(mailbox(verdict(r, "u@x", from: "10.0.0.2", helo: "special")) == "/m/a")
}

@Test func unsupportedDeliveryMethodsRefuseWithAWarning() throws {
    let warnings = Warnings()
    let r = try router(
        """
        listen on lo
        action "box" mbox
        match from any for any action "box"
        """, warnings: warnings)
    #expect(verdict(r, "u@example.org") == .reject)
    #expect(warnings.all.count == 1)
    #expect(warnings.all.first?.contains("mbox") == true)
}

@Test func relayRecipientsAreAcceptedForTheQueue() throws {
    let r = try router(
        """
        listen on lo
        action "out" relay host "smtp://192.0.2.1"
        match from any for domain "example.org" action "out"
        """)
    #expect(verdict(r, "u@example.org") == .accept(.relay(action: "out")))
    #expect(verdict(r, "u@example.net") == .reject)
}

@Test func cidrAndGlobMatching() {
    #expect(addressInNetwork("10.0.0.7", "10.0.0.0/24"))
    #expect(!addressInNetwork("10.0.1.7", "10.0.0.0/24"))
    #expect(addressInNetwork("10.0.0.7", "10.0.0.7"))
    #expect(addressInNetwork("2001:db8::1", "2001:db8::/32"))
    #expect(!addressInNetwork("2001:db9::1", "2001:db8::/32"))
    #expect(!addressInNetwork("10.0.0.7", "2001:db8::/32"))
    #expect(globMatch("*.example.com", "a.b.example.com"))
    #expect(!globMatch("*.example.com", "example.com"))
    #expect(globMatch("exact", "exact"))
}

@Test func listenTargetsResolveInterfacesAddressesAndHostsNames() throws {
    let interfaces = [
        InterfaceAddress(interface: "lo", address: .v4(host: "127.0.0.1", port: 0)),
        InterfaceAddress(interface: "bbb", address: .v4(host: "10.0.0.2", port: 0)),
        InterfaceAddress(interface: "bbb", address: .v6(host: "fe80::1", port: 0, scope: 7)),
    ]
    func directive(_ target: ListenTarget, _ family: AddressFamily = .any) -> ListenDirective {
        var d = ListenDirective(target: target, location: SourceLocation(file: "f.conf", line: 3))
        d.port = 25
        d.family = family
        return d
    }
    #expect(
        try resolveListenTarget(directive(.interface("bbb")), interfaces: interfaces)
            == [.v4(host: "10.0.0.2", port: 25), .v6(host: "fe80::1", port: 25, scope: 7)])
    #expect(
        try resolveListenTarget(directive(.interface("bbb"), .inet4), interfaces: interfaces)
            == [.v4(host: "10.0.0.2", port: 25)])
    #expect(
        try resolveListenTarget(directive(.address("127.0.0.1")), interfaces: interfaces)
            == [.v4(host: "127.0.0.1", port: 25)])
    #expect(
        try resolveListenTarget(directive(.interface("localhost"), .inet4), interfaces: interfaces)
            .contains(.v4(host: "127.0.0.1", port: 25)))
    do {
        _ = try resolveListenTarget(directive(.interface("nosuchif")), interfaces: interfaces)
        Issue.record("expected an error")
    } catch {
        #expect(error.description.hasPrefix("f.conf:3: listen on nosuchif: no such interface"))
    }
}
