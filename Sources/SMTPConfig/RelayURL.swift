/// The next hop of a `relay host URL` action (old grammar: `relay via URL`), parsed as
/// OpenSMTPD's `text_to_relayhost()` (to.c) reads it: `[scheme://][label@]host[:port]`, the
/// host a name, an IPv4 address or a bracketed IPv6 address.
public struct RelayURL: Sendable, Hashable, CustomStringConvertible {
    /// How the session to the next hop is secured.
    public enum Scheme: String, Sendable, Hashable, CaseIterable {
        /// `smtp://`: STARTTLS when the next hop offers it, plain text otherwise.
        case smtp = "smtp"
        /// `smtp+tls://`: STARTTLS required; a next hop without it is a temporary failure.
        case smtpTLS = "smtp+tls"
        /// `smtp+notls://`: never TLS.
        case smtpNoTLS = "smtp+notls"
        /// `smtps://`: TLS from the first byte (port 465 by default).
        case smtps = "smtps"

        var defaultPort: UInt16 { self == .smtps ? 465 : 25 }
    }

    public var scheme: Scheme
    /// The credentials label (`smtp://label@host`): the key looked up in the `auth` table.
    public var authLabel: String?
    /// A host name or an address, without brackets.
    public var host: String
    public var port: UInt16

    public init(scheme: Scheme = .smtp, authLabel: String? = nil, host: String, port: UInt16? = nil)
    {
        self.scheme = scheme
        self.authLabel = authLabel
        self.host = host
        self.port = port ?? scheme.defaultPort
    }

    /// Why a relay URL was refused (the parser puts `FILE:LINE` in front).
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Parses `text`; without a scheme it is `smtp://` (as OpenSMTPD).
    public init(parsing text: String) throws(ParseError) {
        var rest = Substring(text)
        var scheme = Scheme.smtp
        if let separator = Self.schemeEnd(rest) {
            let name = rest[..<separator.lowerBound].lowercased()
            if name == "lmtp" {
                throw ParseError(reason: "lmtp:// relays are not supported by MailLab")
            }
            guard let known = Scheme(rawValue: name) else {
                let names = Scheme.allCases.map { $0.rawValue + "://" }.joined(separator: ", ")
                throw ParseError(reason: "unknown scheme \"\(name)://\" (expected \(names))")
            }
            scheme = known
            rest = rest[separator.upperBound...]
        }
        var label: String?
        if let at = rest.lastIndex(of: "@") {
            let text = rest[..<at]
            guard !text.isEmpty else { throw ParseError(reason: "empty credentials label") }
            label = String(text)
            rest = rest[rest.index(after: at)...]
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw ParseError(reason: "missing \"]\" after the IPv6 address")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw ParseError(reason: "unexpected \"\(after)\" after the address")
                }
                portText = after.dropFirst()
            }
            guard host.contains(":") else {
                throw ParseError(reason: "\"[\(host)]\" is not an IPv6 address")
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw ParseError(reason: "no host") }
        guard
            host.allSatisfy({
                $0.isASCII
                    && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":"
                        || $0 == "_")
            })
        else {
            throw ParseError(reason: "invalid host \"\(host)\"")
        }
        var port: UInt16?
        if let portText {
            guard let value = UInt16(portText), value > 0 else {
                throw ParseError(reason: "invalid port \"\(portText)\" (expected 1-65535)")
            }
            port = value
        }
        self.init(scheme: scheme, authLabel: label, host: String(host), port: port)
    }

    /// Where `://` is in `text`, if anywhere.
    private static func schemeEnd(_ text: Substring) -> Range<Substring.Index>? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("://") {
                return index..<text.index(index, offsetBy: 3)
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// The URL in its canonical form (scheme always written, default port left out).
    public var description: String {
        let address = host.contains(":") ? "[\(host)]" : host
        let label = authLabel.map { "\($0)@" } ?? ""
        let port = port == scheme.defaultPort ? "" : ":\(port)"
        return "\(scheme.rawValue)://\(label)\(address)\(port)"
    }
}
