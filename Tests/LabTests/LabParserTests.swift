import Lab
import Netlink
import Testing

struct LabParserTests {
    func errors(_ text: String, renaming: LabRenaming = .none) -> [String] {
        do {
            _ = try LabParser.parse(text, file: "t.conf", renaming: renaming)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test(arguments: ["seed", "daisy", "bridge", "uplink", "mail"])
    func shippedLabsParse(lab: String) throws {
        let spec = try LabScratch().load(lab)
        #expect(spec.name == lab)
        #expect(!spec.veths.isEmpty)
    }

    @Test func seedLabModel() throws {
        let text = try String(contentsOfFile: confDirectory + "/lab-seed.conf", encoding: .utf8)
        let spec = try LabParser.parse(text, file: "lab-seed.conf")
        #expect(spec.namespaces.map(\.name) == ["gruen"])
        #expect(spec.veths.first?.first == LabInterface(name: "aaa", namespace: nil))
        #expect(spec.veths.first?.second == LabInterface(name: "bbb", namespace: "gruen"))
        #expect(spec.addresses.map(\.prefix.description) == ["10.0.0.1/24", "10.0.0.2/24"])
        #expect(spec.servers.map(\.kind) == [.smtpd(config: "smtpd.conf")])
        #expect(spec.servers.first?.namespace == "gruen")
    }

    @Test func serverStatementsParseWithTheConfigRelativeToTheLabFile() throws {
        let spec = try LabParser.parse(
            "smtpd gruen smtpd.conf\nnetns gruen\nsmtpd host /etc/smtpd.conf\nrun gruen -- nc -l 10.0.0.2 7\n",
            file: "conf/lab-x.conf", renaming: LabRenaming(namespacePrefix: "p-"))
        #expect(
            spec.servers == [
                LabServer(namespace: "p-gruen", kind: .smtpd(config: "conf/smtpd.conf"), line: 1),
                LabServer(namespace: nil, kind: .smtpd(config: "/etc/smtpd.conf"), line: 3),
                LabServer(
                    namespace: "p-gruen", kind: .run(["nc", "-l", "10.0.0.2", "7"]), line: 4),
            ])
        #expect(spec.servers[0].summary(spec.renaming) == "smtpd gruen conf/smtpd.conf")
        #expect(spec.servers[2].summary(spec.renaming) == "run gruen -- nc -l 10.0.0.2 7")
        #expect(
            try LabParser.parse("netns a\nsmtpd a s.conf\n", file: "lab.conf").servers.first?.kind
                == .smtpd(config: "s.conf"))
    }

    @Test func malformedServerStatementsAreNamed() {
        #expect(
            errors(
                "netns gruen\nsmtpd gruen\nsmtpd gruen a b\nrun gruen sleep 1\nrun gruen --\nsmtpd gruenn x.conf\n"
            ) == [
                "t.conf:2: usage: smtpd NS CONFIG",
                "t.conf:3: usage: smtpd NS CONFIG",
                "t.conf:4: usage: run NS -- COMMAND [ARGUMENT …]",
                "t.conf:5: usage: run NS -- COMMAND [ARGUMENT …]",
                "t.conf:6: unknown namespace \"gruenn\" (did you mean gruen?)",
            ])
        #expect(
            errors("smtp gruen x.conf\n") == [
                "t.conf:1: unknown statement \"smtp\" (did you mean smtpd?)"
            ])
    }

    @Test func renamingPrefixesNamesAndReplacesHost() throws {
        let spec = try LabParser.parse(
            "netns gruen forward\nveth aaa@host bbb@gruen\nroute gruen default via 10.0.0.1\naddr bbb@gruen 10.0.0.2/24\naddr aaa@host 10.0.0.1/24\n",
            file: "t.conf",
            renaming: LabRenaming(
                namespacePrefix: "p-", interfacePrefix: "x", hostNamespace: "p-host"))
        #expect(spec.namespaces.map(\.name) == ["p-host", "p-gruen"])
        #expect(spec.namespaces[1].forwards)
        #expect(spec.veths[0].first == LabInterface(name: "xaaa", namespace: "p-host"))
        #expect(spec.routes[0].namespace == "p-gruen")
    }

    @Test func unknownNamespace() {
        #expect(
            errors("veth a@host b@nowhere\n") == [
                "t.conf:1: unknown namespace \"nowhere\" (no namespace is declared: add a netns line)"
            ])
        #expect(
            errors("netns gruen\nnetns rot\nveth a@host b@nowhere\n") == [
                "t.conf:3: unknown namespace \"nowhere\" (declared: gruen, rot and host)"
            ])
    }

    @Test func aMistypedNamespaceGetsDidYouMeanNotADeclarationOfTheTypo() {
        let messages = errors(
            "netns gruen\nnetns blau\nveth a@host b@gruenn\nroute bluu default via 10.0.0.1\n")
        #expect(
            messages == [
                "t.conf:3: unknown namespace \"gruenn\" (did you mean gruen?)",
                "t.conf:4: unknown namespace \"bluu\" (did you mean blau?)",
            ])
        #expect(!messages.joined().contains("netns gruenn"))
        #expect(
            errors("netns g\nveth a@host b@g\naddr bb@g 10.0.0.2/24\n") == [
                "t.conf:3: unknown interface bb@g (did you mean b@g?)"
            ])
        #expect(
            errors("netns g\nvet a@host b@g\n") == [
                "t.conf:2: unknown statement \"vet\" (did you mean veth?)"
            ])
    }

    @Test func namespacesMayBeDeclaredAfterTheirUse() throws {
        let spec = try LabParser.parse(
            "veth aaa@host bbb@gruen\naddr bbb@gruen 10.0.0.2/24\nroute gruen default via 10.0.0.1\naddr aaa@host 10.0.0.1/24\nnetns gruen\n",
            file: "t.conf")
        #expect(spec.namespaces.map(\.name) == ["gruen"])
        #expect(spec.namespaces[0].line == 5)
        #expect(spec.routes.first?.namespace == "gruen")
    }

    @Test func errorsOfARenamedLabUseTheFilesNames() {
        let renaming = LabRenaming(
            namespacePrefix: "zq8-", interfacePrefix: "zq", hostNamespace: "zq8-host")
        #expect(
            errors(
                "netns rot\nveth eee@host fff@rot\naddr ffff@rot 20.0.0.2/24\nveth eee@host ggg@rot\n",
                renaming: renaming) == [
                    "t.conf:3: unknown interface ffff@rot (did you mean fff@rot?)",
                    "t.conf:4: duplicate interface eee@host (first declared on line 2)",
                ])
    }

    @Test func duplicateAndOverlongInterfaceNames() {
        #expect(
            errors("netns g\nveth a@host b@g\nveth a@host c@g\n") == [
                "t.conf:3: duplicate interface a@host (first declared on line 2)"
            ])
        #expect(
            errors("netns g\nveth abcdefghijklmnop@host b@g\n") == [
                "t.conf:2: interface name \"abcdefghijklmnop\" is 16 bytes, the kernel allows 15"
            ])
        // The renaming can push a name over the limit: the error says so with the final name.
        #expect(
            errors(
                "netns g\nveth abcdefghijk@host b@g\n",
                renaming: LabRenaming(interfacePrefix: "mlt12")) == [
                    "t.conf:2: interface name \"mlt12abcdefghijk\" is 16 bytes, the kernel allows 15"
                ])
    }

    @Test func malformedAndOverlappingAddresses() {
        #expect(
            errors("netns g\nveth a@host b@g\naddr b@g 10.0.0.300/24\n") == [
                "t.conf:3: malformed address \"10.0.0.300/24\" (expected ADDRESS/LENGTH, e.g. 10.0.0.2/24)"
            ])
        #expect(errors("netns g\nveth a@host b@g\naddr b@g 10.0.0.2\n").count == 1)
        #expect(
            errors("netns g\nveth a@host b@g\naddr a@host 10.0.0.1/24\naddr b@g 10.0.0.1/24\n") == [
                "t.conf:4: address 10.0.0.1 is already used on line 3"
            ])
        let overlap =
            "netns g\nnetns r\nveth a@host b@g\nveth c@host d@r\naddr b@g 10.0.0.2/24\naddr d@r 10.0.0.130/25\n"
        #expect(
            errors(overlap) == [
                "t.conf:6: 10.0.0.130/25 overlaps 10.0.0.2/24 on line 5, which is on another network"
            ])
    }

    @Test func gatewayOnNoAttachedNetwork() {
        let text = "netns g\nveth a@host b@g\naddr b@g 10.0.0.2/24\nroute g default via 10.0.1.1\n"
        #expect(errors(text) == ["t.conf:4: gateway 10.0.1.1 is on no network attached to g"])
        let good = "netns g\nveth a@host b@g\naddr b@g 10.0.0.2/24\nroute g default via 10.0.0.1\n"
        #expect(errors(good) == [])
    }

    @Test func allErrorsAreCollected() {
        let text = "frobnicate\nnetns g\nnetns g\naddr x@g 1.2.3.4/8\nveth q@host\n"
        #expect(
            errors(text) == [
                "t.conf:1: unknown statement \"frobnicate\" (expected lab, netns, veth, bridge, uplink, addr, route, forward, upstream, resolv, expect, smtpd or run)",
                "t.conf:3: duplicate namespace g (first declared on line 2)",
                "t.conf:4: unknown interface x@g (declare it with veth or bridge)",
                "t.conf:5: usage: veth IF@NS IF@NS",
            ])
    }
}

@Test func countsOfChangesAreSingularForOne() {
    #expect(changes(1) == "1 change")
    #expect(changes(0) == "0 changes")
    #expect(changes(7) == "7 changes")
}
