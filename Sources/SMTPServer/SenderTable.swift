import SMTPConfig
import SMTPProtocol

/// `listen … senders <table>`: the MAIL FROM addresses each authenticated user may give, as
/// OpenSMTPD's `lka_mailaddrmap`: the table maps a user name to a comma-separated list of
/// `user@domain`, `@domain` (a `*` wildcard allowed, as in `*.example.com`) or `user`; a user
/// missing from the table may give none.
struct SenderTable: Sendable {
    let table: LoadedTable
    let subaddressDelimiter: String

    func allows(user: String, sender: ReversePath) -> Bool {
        guard let listed = table.value(for: user) else { return false }
        let (senderUser, senderDomain): (String, String) =
            switch sender {
            case .null: ("", "")
            case .address(let address): (address.localPart, address.domain)
            }
        return listed.split(separator: ",").contains { raw in
            Self.matches(
                entry: raw.trimmingCharacters(in: " \t"), user: senderUser, domain: senderDomain,
                delimiter: subaddressDelimiter)
        }
    }

    /// `mailaddr_match`: the entry's domain (if any) must match, then its user (if any),
    /// ignoring the sender's `+tag` unless the entry has one too.
    static func matches(entry: String, user: String, domain: String, delimiter: String) -> Bool {
        let entryUser: Substring
        let entryDomain: Substring
        if let at = entry.lastIndex(of: "@") {
            entryUser = entry[..<at]
            entryDomain = entry[entry.index(after: at)...]
        } else {
            entryUser = Substring(entry)
            entryDomain = ""
        }
        if entryUser.isEmpty && entryDomain.isEmpty { return true }
        if !entryDomain.isEmpty && !globMatch(entryDomain.lowercased(), domain.lowercased()) {
            return false
        }
        guard !entryUser.isEmpty else { return true }
        // OpenSMTPD takes the first character of `smtp sub-addr-delim`.
        var senderUser = Substring(user)
        if let mark = delimiter.first, !entryUser.contains(mark),
            let tag = senderUser.firstIndex(of: mark)
        {
            senderUser = senderUser[..<tag]
        }
        return senderUser.lowercased() == entryUser.lowercased()
    }
}
