import DNSClient
import DNSMessage
import Testing

/// An MX answer for `domain` as a recursive server gives it.
private func answer(
    _ domain: String, _ records: [(UInt16, String)], code: DNSResponseCode = .noError,
    cname: String? = nil
) -> DNSMessage {
    var message = DNSMessage(header: DNSHeader(id: 1))
    message.header.isResponse = true
    message.header.responseCode = code
    message.questions = [DNSQuestion(name: DNSName(domain)!, type: .mx)]
    var owner = DNSName(domain)!
    if let cname {
        message.answers.append(
            DNSRecord(name: owner, ttl: 60, data: .cname(DNSName(cname)!)))
        owner = DNSName(cname)!
    }
    for (preference, host) in records {
        message.answers.append(
            DNSRecord(
                name: owner, ttl: 60, data: .mx(preference: preference, exchange: DNSName(host)!)))
    }
    return message
}

private struct Seeded: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}

@Suite struct MailExchangerSelectionTests {
    let domain = DNSName("rot.lab")!

    func hosts(_ plan: MailExchangerSelection.Plan) -> [String] {
        guard case .exchangers(let list) = plan else { return [] }
        return list.map { "\($0.preference) \($0.host)" }
    }

    @Test func exchangersAreSortedByPreference() throws {
        var generator = Seeded(state: 1)
        let plan = try MailExchangerSelection.plan(
            domain: domain,
            answer: answer("rot.lab", [(20, "b.rot.lab"), (5, "a.rot.lab"), (30, "c.rot.lab")]),
            using: &generator)
        #expect(hosts(plan) == ["5 a.rot.lab", "20 b.rot.lab", "30 c.rot.lab"])
    }

    @Test func equalPreferencesComeInRandomOrderButStayGrouped() throws {
        let records: [(UInt16, String)] =
            [(10, "x1.rot.lab"), (10, "x2.rot.lab"), (10, "x3.rot.lab"), (20, "y.rot.lab")]
        var firsts: Set<String> = []
        for seed in 0..<64 {
            var generator = Seeded(state: UInt64(seed))
            let order = hosts(
                try MailExchangerSelection.plan(
                    domain: domain, answer: answer("rot.lab", records), using: &generator))
            #expect(order.last == "20 y.rot.lab")
            #expect(Set(order.prefix(3)) == ["10 x1.rot.lab", "10 x2.rot.lab", "10 x3.rot.lab"])
            firsts.insert(order[0])
        }
        // Every one of the three equals came first at least once in 64 draws.
        #expect(firsts.count == 3)
    }

    @Test func noMXRecordsMeansTheDomainItselfIsTheExchanger() throws {
        var generator = Seeded(state: 1)
        #expect(
            try MailExchangerSelection.plan(
                domain: domain, answer: answer("rot.lab", []), using: &generator)
                == .implicit(domain))
    }

    @Test func aNullMXIsAPermanentFailure() {
        var generator = Seeded(state: 1)
        #expect(throws: DNSLookupError(name: "rot.lab", type: .mx, kind: .nullMX)) {
            try MailExchangerSelection.plan(
                domain: domain, answer: answer("rot.lab", [(0, ".")]), using: &generator)
        }
        let error = try? #require(throws: DNSLookupError.self) {
            try MailExchangerSelection.plan(
                domain: domain, answer: answer("rot.lab", [(0, ".")]), using: &generator)
        }
        #expect(error?.isPermanent == true)
    }

    @Test func nxdomainIsPermanentAndServerFailureTemporary() {
        var generator = Seeded(state: 1)
        let error = try? #require(throws: DNSLookupError.self) {
            try MailExchangerSelection.plan(
                domain: domain, answer: answer("rot.lab", [], code: .nameError),
                using: &generator)
        }
        #expect(error?.kind == .noSuchDomain)
        #expect(error?.isPermanent == true)
        #expect(
            !DNSLookupError(name: "rot.lab", type: .mx, kind: .serverFailure(.serverFailure))
                .isPermanent)
        #expect(!DNSLookupError(name: "rot.lab", type: .mx, kind: .timeout).isPermanent)
    }

    @Test func recordsOfTheCanonicalNameCount() throws {
        var generator = Seeded(state: 1)
        let plan = try MailExchangerSelection.plan(
            domain: domain,
            answer: answer("rot.lab", [(10, "mx.real.lab")], cname: "real.lab"),
            using: &generator)
        #expect(hosts(plan) == ["10 mx.real.lab"])
        // Records of an unrelated owner do not.
        var unrelated = answer("rot.lab", [])
        unrelated.answers.append(
            DNSRecord(
                name: DNSName("other.lab")!, ttl: 1,
                data: .mx(preference: 1, exchange: DNSName("mx.other.lab")!)))
        #expect(
            try MailExchangerSelection.plan(domain: domain, answer: unrelated, using: &generator)
                == .implicit(domain))
    }

    @Test func addressesAreReadThroughCNAMEsAsText() {
        var message = DNSMessage(header: DNSHeader(id: 1))
        let host = DNSName("mx.rot.lab")!
        let real = DNSName("box.rot.lab")!
        message.answers = [
            DNSRecord(name: host, ttl: 1, data: .cname(real)),
            DNSRecord(name: real, ttl: 1, data: .a([20, 0, 0, 2])),
            DNSRecord(
                name: real, ttl: 1,
                data: .aaaa([0xFD, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])),
            DNSRecord(name: DNSName("x.lab")!, ttl: 1, data: .a([1, 2, 3, 4])),
        ]
        #expect(
            MailExchangerSelection.addresses(of: host, in: message) == ["20.0.0.2", "fd00:20::2"])
    }
}
