import COpenSSL

/// What a relay action asks of its TLS sessions to next hops (OpenSMTPD's dispatcher
/// `tls`, `ca`, `pki`, `ciphers`, `protocols`): verification of the next hop's certificate
/// against a CA file (the system's when none is named) and its name, a client certificate,
/// an OpenSSL cipher list, a protocol range.
public struct TLSClientOptions: Sendable, Equatable {
    /// Verify the peer's chain and name (`tls` without `no-verify`).
    public var verify = false
    /// PEM CA bundle (`ca NAME`); nil: OpenSSL's default paths.
    public var caFile: String?
    /// Client certificate chain and key (`pki NAME`).
    public var certificateChain: String?
    public var privateKey: String?
    public var ciphers: String?
    /// libtls's protocol string (`tlsv1.2,tlsv1.3`, `secure`, `all`, `!tlsv1.3`).
    public var protocols: String?

    public init(
        verify: Bool = false, caFile: String? = nil, certificateChain: String? = nil,
        privateKey: String? = nil, ciphers: String? = nil, protocols: String? = nil
    ) {
        self.verify = verify
        self.caFile = caFile
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.ciphers = ciphers
        self.protocols = protocols
    }
}

/// A TLS protocol range as libtls's `tls_config_parse_protocols` reads it: names separated
/// by `,` or `:`, `!` or `-` before one removes it, `secure`/`default` (TLS 1.2 and 1.3),
/// `all`/`legacy` (1.0 to 1.3), `tlsv1` (1.0 and 1.1), `tlsv1.0` … `tlsv1.3`. OpenSSL takes
/// a minimum and a maximum, so the versions left must be contiguous. Pure.
public struct TLSProtocolRange: Sendable, Equatable {
    /// Minor versions of TLS 1.x: 0 … 3.
    public var lowest: Int
    public var highest: Int

    public init(lowest: Int, highest: Int) {
        self.lowest = lowest
        self.highest = highest
    }

    public static func parse(_ text: String) -> Result<TLSProtocolRange, TLSError> {
        func fail(_ reason: String) -> Result<TLSProtocolRange, TLSError> {
            .failure(TLSError("invalid protocols \"\(text)\"", reason: reason))
        }
        var versions: Set<Int> = []
        let names = text.lowercased().split(whereSeparator: { $0 == "," || $0 == ":" })
        guard !names.isEmpty else { return fail("no protocol named") }
        for raw in names {
            var name = raw.drop { $0 == " " || $0 == "\t" }
            while let last = name.last, last == " " || last == "\t" { name = name.dropLast() }
            var negate = false
            if let first = name.first, first == "!" || first == "-" {
                negate = true
                name = name.dropFirst()
            } else if name.first == "+" {
                name = name.dropFirst()
            }
            let named: Set<Int>
            switch name {
            case "secure", "default": named = [2, 3]
            case "all", "legacy": named = [0, 1, 2, 3]
            case "tlsv1": named = [0, 1]
            case "tlsv1.0": named = [0]
            case "tlsv1.1": named = [1]
            case "tlsv1.2": named = [2]
            case "tlsv1.3": named = [3]
            default: return fail("unknown protocol \"\(name)\"")
            }
            if negate { versions.subtract(named) } else { versions.formUnion(named) }
        }
        guard let lowest = versions.min(), let highest = versions.max() else {
            return fail("no protocol left")
        }
        guard versions.count == highest - lowest + 1 else {
            return fail("the versions must be contiguous (OpenSSL takes a minimum and a maximum)")
        }
        return .success(TLSProtocolRange(lowest: lowest, highest: highest))
    }

    var openSSLVersions: (Int32, Int32) {
        let table = [
            maillab_TLS1_VERSION, maillab_TLS1_1_VERSION, maillab_TLS1_2_VERSION,
            maillab_TLS1_3_VERSION,
        ]
        return (table[lowest], table[highest])
    }
}
