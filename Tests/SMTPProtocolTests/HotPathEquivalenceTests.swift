import Testing

@testable import SMTPProtocol

/// The hot-path rewrites of the benchmark work (BENCHMARKS.md) against the general code they
/// short-cut, on random and hostile input.
@Suite("Hot paths: fast ways agree with the general ones")
struct HotPathEquivalenceTests {
    /// Header address values without a comma: the one-piece shortcut must give what cutting
    /// at top-level commas gives, whatever the quotes, comments, escapes and line breaks.
    @Test("From/To rewriting without commas", arguments: 0..<4)
    func addressRewriteShortcut(seed: UInt64) {
        let generator = SplitMix(seed: seed)
        let alphabet = Array("ab @<>()\"\\:;.\n\tx".utf8)
        for _ in 0..<2_000 {
            let length = Int(generator.next() % 24)
            let value = (0..<length).map { _ in
                alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            let domain = Array("mx.example".utf8)
            #expect(
                HeaderAddressRewriter.appendDomain(to: value, domain: domain)
                    == HeaderAddressRewriter.appendDomainPiecewise(to: value, domain: domain),
                "\(String(decoding: value, as: UTF8.self).debugDescription)")
        }
    }

    @Test("hex ids are %0Nx", arguments: [1, 8, 12, 16])
    func hex(digits: Int) {
        let generator = SplitMix(seed: UInt64(digits))
        let samples: [UInt64] =
            [0, 1, 0xF, 0x10, 0xFFFF_FFFF, .max]
            + (0..<500).map { _ in
                generator.next() >> (generator.next() % 64)
            }
        for value in samples {
            let plain = String(value, radix: 16)
            let expected = String(repeating: "0", count: max(0, digits - plain.count)) + plain
            #expect(Hex.string(value, digits: digits) == expected)
        }
    }
}
