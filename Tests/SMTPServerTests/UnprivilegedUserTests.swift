import Testing

@testable import SMTPServer

@Suite struct UnprivilegedUserTests {
    @Test func theUnprivilegedUserLookupNamesAMissingUser() throws {
        #expect(UnprivilegedUser.name == "_maillab")
        #expect {
            _ = try UnprivilegedUser.lookUp(named: "nosuch-mltest")
        } throws: { error in
            "\(error)".hasPrefix(
                "unprivileged user nosuch-mltest does not exist: smtpd runs its network side as nosuch-mltest; make install creates it"
            )
        }
        #expect {
            _ = try UnprivilegedUser.lookUp(named: "root")
        } throws: { error in
            "\(error)"
                == "unprivileged user root has uid 0, gid 0: the network side must not run as root"
        }
        let nobody = try UnprivilegedUser.lookUp(named: "nobody")
        #expect(nobody.user != 0)
    }
}
