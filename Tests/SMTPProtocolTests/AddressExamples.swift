// Address examples of opensmtpd-6.8.md §6 and Appendix A mail-from-syntax / rcpt-syntax,
// as data: the argument after "MAIL FROM:"/"RCPT TO:" (leading spaces already skipped) and
// the parsed address, or nil for a syntax error. Server name "vm".

struct AddressExample: Sendable, CustomStringConvertible {
    let argument: String
    /// "local@domain", "" for the null path, nil for refused.
    let parsed: String?
    var description: String {
        argument.count > 60 ? "\(argument.prefix(40))… (\(argument.count))" : argument
    }
}

enum AddressExamples {
    static let mailFrom: [AddressExample] = [
        .init(argument: "<abgelaescht@ausgebuefft>", parsed: "abgelaescht@ausgebuefft"),
        .init(argument: "abgelaescht@ausgebuefft", parsed: nil),
        .init(argument: "", parsed: nil),
        .init(argument: "<>", parsed: ""),
        .init(argument: "<abgelaescht>", parsed: "abgelaescht@vm"),
        .init(argument: "<@ausgebuefft>", parsed: nil),
        .init(argument: "<abgelaescht@>", parsed: "abgelaescht@vm"),
        .init(argument: "<abgelaescht@ausgebuefft", parsed: nil),
        .init(argument: "<a.b.c@d.e.f>", parsed: "a.b.c@d.e.f"),
        .init(argument: "<.ab@x.example>", parsed: nil),
        .init(argument: "<ab.@x.example>", parsed: nil),
        .init(argument: "<a..b@x.example>", parsed: nil),
        .init(argument: "<\"a b\"@x.example>", parsed: nil),
        .init(argument: "<a b@x.example>", parsed: nil),
        .init(argument: "<a(b)@x.example>", parsed: nil),
        .init(argument: "<a,b@x.example>", parsed: nil),
        .init(argument: "<a;b@x.example>", parsed: nil),
        .init(argument: "<a:b@x.example>", parsed: "b@x.example"),
        .init(argument: "<x:y:a@x.example>", parsed: nil),
        .init(argument: "<a\\b@x.example>", parsed: nil),
        .init(argument: "<a[b@x.example>", parsed: nil),
        .init(argument: "<!#$%&'*/?^`{|}~+-=_@x.example>", parsed: "!#$%&'*/?^`{|}~+-=_@x.example"),
        .init(argument: "<a@b@x.example>", parsed: nil),
        .init(argument: "<a@x_y.example>", parsed: "a@x_y.example"),
        .init(argument: "<a@-x.example>", parsed: nil),
        .init(argument: "<a@x-.example>", parsed: "a@x-.example"),
        .init(argument: "<a@x..example>", parsed: nil),
        .init(argument: "<a@x.example.>", parsed: nil),
        .init(argument: "<a@.x.example>", parsed: nil),
        .init(argument: "<a@x y.example>", parsed: nil),
        .init(argument: "<a@[127.0.0.1]>", parsed: "a@[127.0.0.1]"),
        .init(argument: "<a@[IPv6:::1]>", parsed: "a@[IPv6:::1]"),
        .init(argument: "<a@[300.0.0.1]>", parsed: nil),
        .init(argument: "<a@[127.0.0.1]x>", parsed: nil),
        .init(argument: "<a@123>", parsed: "a@123"),
        .init(argument: "<a@xn--mller-kva.example>", parsed: "a@xn--mller-kva.example"),
        .init(argument: "<m\u{FC}ller@x.example>", parsed: nil),
        .init(argument: "<a@m\u{FC}ller.example>", parsed: nil),
        .init(argument: "<;sleep 66;@x.example>", parsed: nil),
        .init(argument: "<;sleep 66;>", parsed: nil),
        .init(
            argument: "<" + repeated("a", 64) + "@x.example>",
            parsed: repeated("a", 64) + "@x.example"),
        .init(
            argument: "<" + repeated("a", 255) + "@x.example>",
            parsed: repeated("a", 255) + "@x.example"),
        .init(argument: "<" + repeated("a", 256) + "@x.example>", parsed: nil),
        .init(
            argument: "<a@" + repeated("b", 63) + ".example>",
            parsed: "a@" + repeated("b", 63) + ".example"),
        .init(argument: "<a@" + repeated("b", 64) + ".example>", parsed: nil),
        .init(argument: "<a@" + longDomain312 + ">", parsed: nil),
        .init(argument: "<@relay.example:osdrefuser@localhost>", parsed: "osdrefuser@localhost"),
        .init(argument: "<@a.example,@b.example:probe@localhost>", parsed: "probe@localhost"),
        .init(argument: "<a@b\0c.example>", parsed: nil),
        .init(argument: "<a\0b@x.example>", parsed: nil),
        .init(argument: "<../../etc/passwd@localhost>", parsed: nil),
        .init(argument: "<`id`|$(id)@localhost>", parsed: nil),
    ]

    static let rcptTo: [AddressExample] = [
        .init(argument: "<osdrefuser@localhost>", parsed: "osdrefuser@localhost"),
        .init(argument: "osdrefuser@localhost", parsed: nil),
        .init(argument: "<>", parsed: nil),
        .init(argument: "<@localhost>", parsed: nil),
        .init(argument: "<;sleep 66;@localhost>", parsed: nil),
        .init(argument: "<a..b@localhost>", parsed: nil),
        .init(argument: "<\"quoted\"@localhost>", parsed: nil),
        .init(argument: "<osdrefuser>", parsed: "osdrefuser@vm"),
        .init(argument: "<OSDREFUSER@localhost>", parsed: "OSDREFUSER@localhost"),
        .init(argument: "<osdrefuser+tag@localhost>", parsed: "osdrefuser+tag@localhost"),
        .init(argument: "<r\u{F6}\u{F6}t@localhost>", parsed: nil),
        .init(argument: "<\"|touch /tmp/pwn\"@localhost>", parsed: nil),
    ]
}
