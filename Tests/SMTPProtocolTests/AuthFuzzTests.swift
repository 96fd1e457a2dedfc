import Testing

@testable import SMTPProtocol

@Suite("Fuzz: base64 and AUTH responses under hostile input")
struct AuthFuzzTests {
    @Test("decode(encode(x)) == x for random bytes of every length up to 300")
    func roundTrip() {
        let random = SplitMix(seed: 5)
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            #expect(Base64.decode(Array(Base64.encode(bytes).utf8), limit: 1000) == bytes)
        }
    }

    @Test("whatever decodes is canonical: encoding it again gives the input back")
    func onlyCanonicalDecodes() {
        let random = SplitMix(seed: 6)
        let alphabet = Array("ABCXYZabcxyz0189+/=*- \t\0\u{7f}".utf8) + [0x80, 0xC3, 0xFF]
        var decoded = 0
        for _ in 0..<20_000 {
            let length = Int(random.next() % 13)
            let input = (0..<length).map { _ in
                alphabet[Int(random.next() % UInt64(alphabet.count))]
            }
            if let bytes = Base64.decode(input, limit: 1000) {
                decoded += 1
                #expect(Array(Base64.encode(bytes).utf8) == input, "\(input)")
            }
        }
        // The generator must reach the accepting side too, or the test proves nothing.
        #expect(decoded > 100)
    }

    @Test("random AUTH lines: only the replies OpenSMTPD gives, and the session stays usable")
    func randomAuthLines() {
        let random = SplitMix(seed: 8)
        let allowed: Set<String> = [
            "334 ", "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "501 5.5.2 Syntax error: Syntax error",
            "235 2.0.0 Authentication succeeded", "535 Authentication failed",
            "501 5.5.4 Invalid command arguments: No parameters given",
            "503 5.5.1 Invalid command: Already authenticated",
            "500 5.5.2 Syntax error: bare <LF> received",
            "500 5.5.1 Invalid command: Command unrecognized",
            "421 4.7.0 vm Too many authentication failures, closing connection",
        ]
        let pieces = [
            "AUTH PLAIN", "AUTH LOGIN", "AUTH plain ", "AUTH LOGIN ", "=", "*",
            "AGFsaWNlAHNlY3JldA==",
            "YWxpY2U=", "c2VjcmV0", "AA==", "AAAA", "\0", "\r", "\u{80}", "====", "YQ", " ",
        ]
        for round in 0..<300 {
            var configuration = referenceConfiguration()
            configuration.authOffer = .optional
            configuration.authWithoutTLS = true
            var driver = Driver(
                configuration: configuration, environment: fixedEnvironment(seed: UInt64(round)))
            driver.authenticate = {
                $0.user == Array("alice".utf8) && $0.password == Array("secret".utf8)
                    ? .accepted : .rejected
            }
            driver.start()
            driver.send("EHLO x\r\n")
            var input = ""
            for _ in 0..<(Int(random.next() % 8) + 1) {
                var line = ""
                for _ in 0..<(Int(random.next() % 3) + 1) {
                    line += pieces[Int(random.next() % UInt64(pieces.count))]
                }
                input += line + (random.next() % 5 == 0 ? "\n" : "\r\n")
            }
            let events = driver.send(input)
            for reply in events.replies where !reply.hasPrefix("504 ") {
                #expect(allowed.contains(reply), "\(reply) for \(input.debugDescription)")
            }
            if events.closes == 0 {
                // Out of any dialogue again after a cancel.
                driver.send("*\r\n")
                #expect(driver.send("NOOP\r\n").replies.last == "250 2.0.0 Ok")
            }
        }
    }
}
