/// Why an address argument was refused (each maps to one reply).
enum AddressError: Error, Equatable {
    case syntax
}

/// A parsed `MAIL FROM:`/`RCPT TO:` argument.
struct ParsedPath: Equatable {
    var path: ReversePath
    /// ESMTP parameters after `>`, split on single spaces, empty ones dropped.
    var parameters: [[UInt8]]
    /// The address holds UTF-8 (only possible with `allowUTF8`): it needs SMTPUTF8.
    var isInternational = false
}

/// OpenSMTPD 6.6.2+ `smtp_mailaddr` + `text_to_mailaddr` + `valid_localpart`, with the
/// CVE-2020-7247 order: null path first, then the local part, then the default domain,
/// then the domain.
enum AddressParser {
    /// Parses `<…> PARAM PARAM` (the text after `MAIL FROM:`/`RCPT TO:` and its spaces).
    /// An empty domain becomes `serverName`; `<>` is allowed only if `allowNull`.
    /// With `allowUTF8` (an SMTPUTF8 listener) local part and domain may hold UTF-8 as
    /// `UTF8Address` allows; the result then says whether they did.
    static func parse(
        _ argument: [UInt8], allowNull: Bool, serverName: String, limits: SessionLimits,
        allowUTF8: Bool = false
    ) -> ParsedPath? {
        guard argument.first == 0x3C, let close = argument.firstIndex(of: 0x3E) else {
            return nil
        }
        let inner = argument[1..<close]
        let parameters = argument[(close + 1)...].split(
            separator: ASCII.space, omittingEmptySubsequences: true
        ).map { Array($0) }

        // text_to_mailaddr: split at the last "@", sizes checked before anything else.
        var user: ArraySlice<UInt8>
        var domain: ArraySlice<UInt8>
        if let at = inner.lastIndex(of: 0x40) {
            user = inner[inner.startIndex..<at]
            domain = inner[(at + 1)...]
        } else {
            user = inner
            domain = []
        }
        guard user.count <= limits.maxLocalPartLength, domain.count <= limits.maxDomainLength
        else { return nil }

        // Source-route remnant: everything up to and including the first ":" goes.
        if let colon = user.firstIndex(of: ASCII.colon) {
            user = user[(colon + 1)...]
        }
        if allowNull && user.isEmpty && domain.isEmpty {
            return ParsedPath(path: .null, parameters: parameters)
        }
        let international =
            allowUTF8 && (user.contains { $0 >= 0x80 } || domain.contains { $0 >= 0x80 })
        guard !user.isEmpty,
            international ? UTF8Address.isLocalPart(user) : isDotAtom(user)
        else { return nil }
        let domainText: String
        if domain.isEmpty {
            domainText = serverName
        } else {
            let valid =
                international && domain.first != 0x5B
                ? UTF8Address.isDomain(domain, maxLength: limits.maxDomainLength)
                : DomainName.isValid(domain, maxLength: limits.maxDomainLength)
            guard valid else { return nil }
            domainText = ASCII.string(domain)
        }
        let address = MailAddress(localPart: ASCII.string(user), domain: domainText)
        return ParsedPath(
            path: .address(address), parameters: parameters, isInternational: international)
    }

    /// `valid_localpart`: atoms of letters, digits and ``!#$%&'*/?^`{|}~+-=_`` joined by
    /// single dots.
    static func isDotAtom<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var atomLength = 0
        for c in bytes {
            if c == ASCII.dot {
                guard atomLength > 0 else { return false }
                atomLength = 0
            } else if isAtomText(c) {
                atomLength += 1
            } else {
                return false
            }
        }
        return atomLength > 0
    }

    private static let atomSpecials = Set("!#$%&'*/?^`{|}~+-=_".utf8)

    static func isAtomText(_ c: UInt8) -> Bool { ASCII.isAlnum(c) || atomSpecials.contains(c) }
}
