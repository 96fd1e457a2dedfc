/// Appends `@domain` to addresses without a domain in a collected From/To/Cc value, as
/// OpenSMTPD's `header_domain_append_callback` + `header_append_domain_buffer`
/// (smtp_session.c): the value is cut at top-level commas (outside quotes, comments and
/// escapes); in each piece the address is the part in `<>` or else the last word; pieces with
/// an `@`, a group `:`, unbalanced quoting or an empty address stay unchanged.
enum HeaderAddressRewriter {
    /// `value` is the text after the colon, continuation lines joined by LF. The result ends
    /// every line with LF.
    /// With `masquerade` (`listen … senders … masquerade`, `From:` of an authenticated
    /// session), each piece's address is then replaced by it (`header_address_rewrite_buffer`).
    static func appendDomain(
        to value: [UInt8], domain: [UInt8], masquerade: [UInt8]? = nil
    ) -> [UInt8] {
        // Without a comma there is one piece whatever the quoting: the whole value, each
        // line ended by LF (the usual From:/To: with one address takes this way).
        if !value.contains(0x2C) {
            var piece = value
            piece.append(ASCII.lf)
            return rewritePiece(piece, domain: domain, masquerade: masquerade)
        }
        return appendDomainPiecewise(to: value, domain: domain, masquerade: masquerade)
    }

    /// The general way: cut at top-level commas, rewrite each piece.
    static func appendDomainPiecewise(
        to value: [UInt8], domain: [UInt8], masquerade: [UInt8]? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        var piece: [UInt8] = []
        var escape = false
        var quote = false
        var comment = 0
        for line in value.split(separator: ASCII.lf, omittingEmptySubsequences: false) {
            for c in line {
                if c == 0x28 && !escape && !quote { comment += 1 }
                if c == 0x22 && !escape && comment == 0 { quote.toggle() }
                if c == 0x29 && !escape && !quote && comment > 0 { comment -= 1 }
                escape = (c == 0x5C && !escape && comment == 0)
                if c == 0x2C && !escape && !quote && comment == 0 {
                    out += rewritePiece(piece, domain: domain, masquerade: masquerade)
                    out.append(0x2C)
                    piece = []
                } else {
                    piece.append(c)
                }
            }
            piece.append(ASCII.lf)
        }
        if !piece.isEmpty {
            out += rewritePiece(piece, domain: domain, masquerade: masquerade)
        }
        return out
    }

    /// One comma-separated piece: the domain appended, then the masquerade address put in.
    static func rewritePiece(
        _ buffer: [UInt8], domain: [UInt8], masquerade: [UInt8]? = nil
    ) -> [UInt8] {
        let appended = appendDomain(toPiece: buffer, domain: domain)
        guard let masquerade else { return appended }
        return replaceAddress(in: appended, with: masquerade)
    }

    /// `header_address_rewrite_buffer`: the part in `<>`, or else the last word, becomes
    /// `address`; a piece with unbalanced quoting, comments or brackets, or a group, stays.
    static func replaceAddress(in buffer: [UInt8], with address: [UInt8]) -> [UInt8] {
        let scan = AddressPieceScan(buffer)
        if !scan.isBalanced || scan.hasGroup { return buffer }
        var begin = 0
        var end = 0
        if scan.hasBracket {
            begin = scan.bracketOpen + 1
            end = scan.bracketClose
        } else if scan.lastComponent > 0 {
            begin = scan.lastComponent
            while begin >= 0 && buffer[begin] != 0x29 && !ASCII.isSpace(buffer[begin]) {
                begin -= 1
            }
            begin += 1
            end = scan.lastComponent + 1
        }
        return Array(buffer[..<begin]) + address + Array(buffer[end...])
    }

    /// `header_append_domain_buffer` for one comma-separated piece.
    static func appendDomain(toPiece buffer: [UInt8], domain: [UInt8]) -> [UInt8] {
        let scan = AddressPieceScan(buffer)
        if !scan.isBalanced || scan.hasDomain || scan.hasGroup { return buffer }
        let insert: Int
        if scan.hasBracket {
            var position = scan.bracketClose - 1
            while position > 0 && ASCII.isSpace(buffer[position]) { position -= 1 }
            if position < 0 || buffer[position] == 0x3C { return buffer }
            insert = position + 1
        } else {
            guard !buffer.isEmpty, !ASCII.isSpace(buffer[scan.lastComponent]) else {
                return buffer
            }
            insert = scan.lastComponent + 1
        }
        return Array(buffer[..<insert]) + [0x40] + domain + Array(buffer[insert...])
    }
}

/// One pass over an address piece as OpenSMTPD's two header rewrites read it: quotes,
/// comments, escapes (outside both), the first top-level `<…>`, `@` and group `:` outside
/// them, and the last character that is not space, a comment or `)`.
struct AddressPieceScan {
    var escape = false
    var quote = false
    var comment = 0
    var bracket = 0
    var hasDomain = false
    var hasBracket = false
    var hasGroup = false
    var bracketOpen = 0
    var bracketClose = 0
    var lastComponent = 0

    init(_ buffer: [UInt8]) {
        for (i, c) in buffer.enumerated() {
            if c == 0x28 && !escape && !quote { comment += 1 }
            if c == 0x22 && !escape && comment == 0 { quote.toggle() }
            if c == 0x29 && !escape && !quote && comment > 0 { comment -= 1 }
            escape = (c == 0x5C && !escape && comment == 0 && !quote)
            if c == 0x3C && !escape && comment == 0 && !quote && bracket == 0 {
                bracket += 1
                hasBracket = true
                bracketOpen = i
            }
            if c == 0x3E && !escape && comment == 0 && !quote && bracket > 0 {
                bracket -= 1
                bracketClose = i
            }
            if c == 0x40 && !escape && comment == 0 && !quote { hasDomain = true }
            if c == ASCII.colon && !escape && comment == 0 && !quote { hasGroup = true }
            if comment == 0 && c != 0x29 && !ASCII.isSpace(c) { lastComponent = i }
        }
    }

    /// No open quote, comment, bracket or escape at the end.
    var isBalanced: Bool { !escape && !quote && comment == 0 && bracket == 0 }
}
