import Testing

@testable import SMTPConfig

/// SplitMix64: a fixed seed makes every failure reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated configurations: parsing never traps and either succeeds or reports
/// errors whose lines lie within the file.
@Suite struct FuzzTests {
    static let corpus = [
        "listen on bbb port 25\naccept from any for local deliver to maildir \"/tmp/maildir\"\n",
        """
        # comment
        d = "example.org"
        table t { a = b, "c" => d }
        table l {
          x, y
        }
        pki mail cert "/c" key "/k"
        listen on lo inet4 port 2525 tls pki mail auth <t> tag T hostname h mask-src
        action "local" maildir "~/Maildir" junk virtual { "@" = "nobody" } ttl 4d
        action r relay host "smtp://x:25" auth <t> tls no-verify
        match from src { 10.0.0.0/8 } for domain $d action "local"
        match ! from local for any reject
        smtp limit max-rcpt 10 max-mails 5
        smtp max-message-size 10M
        include "/inc.conf"
        """,
        """
        limit session max-rcpt 3
        max-message-size 1K
        expire 4d
        bounce-warn 1h, 2h
        accept from ! source { 1.2.3.4 } for ! domain "*.x" sender <s> \\
            alias <a> deliver to lmtp "/s" rcpt-to as u expire 2d
        reject from any for any tagged ! t ! authenticated
        accept for any relay via "smtp://h" as "a@b" tls verify
        """,
    ]

    static let alphabet: [String] = [
        " ", "\n", "\t", "\\", "\\\n", "\"", "'", "{", "}", "<", ">", "!", "=", "=>", ",", "#",
        "$", "$d", "/", "~", ".", "@", "-", "0", "7", "65536", "99999999999999999999", "a", "\r",
        "\u{0}", "é", "listen", "on", "match", "action", "from", "for", "any", "local", "table",
        "accept", "reject", "deliver", "to", "maildir", "port", "tls", "pki", "auth", "include",
        "\"/inc.conf\"", "\"x\"", "10M", "4d",
    ]

    static func lineCount(_ text: String) -> Int {
        let bytes = Array(text.utf8)
        let newlines = bytes.filter { $0 == 0x0A }.count
        return max(1, bytes.last == 0x0A ? newlines : newlines + 1)
    }

    static func check(_ text: String) {
        var includes = 0
        do {
            _ = try SMTPConfiguration.parse(text, fileName: "f.conf", macros: ["m": "lo"]) { path in
                includes += 1
                // Every include finds the same small file, which includes itself: a loop.
                return "listen on lo\ninclude \"\(path)\"\n"
            }
        } catch {
            #expect(!error.errors.isEmpty)
            let last = lineCount(text)
            for e in error.errors {
                if e.location.file == "f.conf" {
                    #expect(
                        (1...last).contains(e.location.line), "\(e) for \(text.debugDescription)")
                } else {
                    // An included file: "listen on lo" and the include line.
                    #expect((1...2).contains(e.location.line), "\(e)")
                }
                #expect(!e.message.isEmpty)
            }
        }
        #expect(includes < 1000)
    }

    @Test func mutatedConfigurations() {
        var rng = SplitMix64(state: 0x5EED)
        for _ in 0..<1500 {
            var text = Array(Self.corpus.randomElement(using: &rng)!)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let position = text.isEmpty ? 0 : Int.random(in: 0..<text.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    if !text.isEmpty { text.remove(at: position) }
                case 1:
                    text.insert(contentsOf: Self.alphabet.randomElement(using: &rng)!, at: position)
                case 2:
                    text = Array(text[..<position])
                default:
                    let end = min(text.count, position + Int.random(in: 1...20, using: &rng))
                    let piece = text[position..<end]
                    text.insert(contentsOf: piece, at: Int.random(in: 0...text.count, using: &rng))
                }
            }
            Self.check(String(text))
        }
    }

    @Test func randomTokenSoup() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<1500 {
            let count = Int.random(in: 0...40, using: &rng)
            let text = (0..<count).map { _ in Self.alphabet.randomElement(using: &rng)! }
                .joined(separator: Bool.random(using: &rng) ? " " : "")
            Self.check(text)
        }
    }

    @Test func corpusItselfIsValidOrFailsOnlyOnIncludeLoop() {
        #expect(errors(Self.corpus[0]).isEmpty)
        #expect(
            errors(
                Self.corpus[2].replacing("sender <s>", with: "").replacing("alias <a>", with: "")
            )
            .isEmpty)
        #expect(
            errors(Self.corpus[1], includes: ["/inc.conf": "match for any reject"]).isEmpty)
    }
}
