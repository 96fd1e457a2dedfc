import NamespaceTestSupport
import Foundation
import Glibc
import Lab
import Namespaces
import Netlink
import Testing

/// Labs own what they create: a state file per lab, `down` undoing exactly that, no adoption
/// of what exists without `--adopt`, overlapping labs refused with both files' lines, and
/// prefixed copies side by side.
@Suite(.enabled(if: isRoot, "needs root"))
struct LabOwnershipTests {
    @Test func aSecondLabSharingANamespaceIsRefusedAndTheFirstIsUntouched() throws {
        try withLabScratch { scratch in
            let seed = try scratch.load("seed")
            let daisy = try scratch.load("daisy")
            _ = try Lab.up(seed)
            let before = try iproute("-n", scratch.name("gruen"), "addr")
            let error = #expect(throws: LabError.self) { try Lab.up(daisy) }
            let message = error?.description ?? ""
            #expect(
                message.contains(
                    "\(daisy.file):14: netns gruen is also lab \(scratch.prefix)seed's (\(seed.file):10): the labs overlap"
                ), "\(message)")
            #expect(!NetworkNamespace.exists(scratch.name("blau")))
            #expect(try iproute("-n", scratch.name("gruen"), "addr") == before)
            #expect(try Lab.status(seed).isUp)
            _ = try Lab.down(seed)
            #expect(scratch.leftovers().isEmpty)
        }
    }

    @Test func aSecondLabOnAnOverlappingHostNetworkIsRefused() throws {
        try withLabScratch { scratch in
            let seed = try scratch.load("seed")
            _ = try Lab.up(seed)
            // Another lab (its own namespaces) with an address on 10.0.0.0/24 in the same host.
            let other = try LabParser.parse(
                "netns other\nveth qqq@host rrr@other\naddr qqq@host 10.0.0.7/24\naddr rrr@other 10.0.0.8/24\n",
                file: "other.conf",
                renaming: LabRenaming(
                    namespacePrefix: scratch.prefix + "2-", hostNamespace: scratch.name("host")))
            let error = #expect(throws: LabError.self) { try Lab.up(other) }
            #expect(
                error?.description.contains(
                    "other.conf:3: 10.0.0.7/24 on the host overlaps lab \(scratch.prefix)seed's 10.0.0.1/24 on aaa (\(seed.file):12)"
                ) == true, "\(error?.description ?? "")")
            #expect(!NetworkNamespace.exists(scratch.prefix + "2-other"))
            #expect(
                try NetlinkHandle(namespace: scratch.name("host")).linkIfPresent(named: "qqq")
                    == nil)
            #expect(try Lab.status(seed).isUp)
        }
    }

    @Test func aHandMadeNamespaceIsNotAdoptedAndSurvivesUpAndDown() throws {
        try withLabScratch { scratch in
            let seed = try scratch.load("seed")
            let gruen = scratch.name("gruen")
            try NetworkNamespace.add(gruen)
            let error = #expect(throws: LabError.self) { try Lab.up(seed) }
            #expect(
                error?.description.contains(
                    "\(seed.file):10: netns gruen exists and lab seed did not create it") == true,
                "\(error?.description ?? "")")
            #expect(!NetworkNamespace.exists(scratch.name("host")), "refused before any change")
            _ = try Lab.up(seed, adopt: true)
            #expect(try Lab.status(seed).isUp)
            let undone = try Lab.down(seed)
            #expect(!undone.contains("netns gruen"), "\(undone)")
            #expect(NetworkNamespace.exists(gruen), "the hand-made namespace survives down")
            #expect(try NetlinkHandle(namespace: gruen).links().map(\.name) == ["lo"])
            #expect(!NetworkNamespace.exists(scratch.name("host")))
            #expect(scratch.stateFiles().isEmpty)
        }
    }

    @Test func downUndoesOnlyWhatUpMadeAndLeavesTheUsersAdditions() throws {
        try withLabScratch { scratch in
            let seed = try scratch.load("seed")
            let host = scratch.name("host")
            try NetworkNamespace.add(host)
            try NetlinkHandle(namespace: host).addBridge("mine0")
            _ = try Lab.up(seed)
            let state = try #require(try LabState.load(seed.instanceName))
            #expect(state.made.contains { $0.action == .addNamespace(scratch.name("gruen")) })
            #expect(!state.made.contains { $0.action == .addNamespace(host) })
            _ = try Lab.down(seed)
            let links = try NetlinkHandle(namespace: host).links().map(\.name).sorted()
            #expect(links == ["lo", "mine0"], "the lab's veth end gone, the user's bridge kept")
            #expect(!NetworkNamespace.exists(scratch.name("gruen")))
        }
    }

    @Test func twoPrefixedCopiesOfTheDaisyLabRunAtOnceAndBothPassCheck() throws {
        try withLabScratch { scratch in
            let file = confDirectory + "/lab-daisy.conf"
            let first = ["--netns-prefix", scratch.prefix, "--prefix", "a", file]
            let (upA, _, errorsA) = try mlab(["lab", "up"] + first)
            #expect(upA == 0, "\(errorsA)")
            // The second copy takes its prefix from the environment.
            let second = ["--netns-prefix", scratch.prefix, file]
            let (upB, _, errorsB) = try mlab(
                ["lab", "up"] + second, environment: ["MLAB_PREFIX": "b"])
            #expect(upB == 0, "\(errorsB)")
            #expect(NetworkNamespace.exists(scratch.prefix + "agruen"))
            #expect(NetworkNamespace.exists(scratch.prefix + "bgruen"))
            #expect(
                try NetlinkHandle(namespace: scratch.prefix + "bgruen").linkIfPresent(named: "bccc")
                    != nil)
            #expect(
                scratch.stateFiles().sorted() == [
                    "\(scratch.prefix)adaisy.state", "\(scratch.prefix)bdaisy.state",
                ])
            let (checkA, outA, _) = try mlab(["lab", "check"] + first)
            #expect(checkA == 0, "\(outA)")
            let (checkB, outB, _) = try mlab(
                ["lab", "check"] + second, environment: ["MLAB_PREFIX": "b"])
            #expect(checkB == 0, "\(outB)")
            let (downA, _, _) = try mlab(["lab", "down"] + first)
            #expect(downA == 0)
            #expect(
                NetworkNamespace.exists(scratch.prefix + "bgruen"), "b is untouched by a's down")
            let (downB, _, _) = try mlab(
                ["lab", "down"] + second, environment: ["MLAB_PREFIX": "b"])
            #expect(downB == 0)
            #expect(scratch.leftovers().isEmpty)
            #expect(scratch.stateFiles().isEmpty)
        }
    }

    @Test func theStateFileRoundTrips() throws {
        // (Parsed from text, printed back: the same text.)
        var state = try #require(
            LabState(text: "lab x\nfile /tmp/x.conf\nuses a 3\nhostaddr - 10.0.0.1/24 aaa 4\n"))
        #expect(state.uses.map(\.namespace) == ["a"])
        #expect(state.hostAddresses.first?.host == nil)
        #expect(LabState(text: "lab x\nbogus line\n") == nil)
        state.made = [
            LabState.Change(action: .addNamespace("a")),
            LabState.Change(
                action: .setForwarding("a", Forwarding(ipv4: true, ipv6: true)),
                previous: Forwarding(ipv4: false, ipv6: true)),
        ]
        let text =
            "lab x\nfile /tmp/x.conf\nuses a 3\nhostaddr - 10.0.0.1/24 aaa 4\nmade netns a\nmade forwarding a 1 1 0 1\n"
        #expect(LabState(text: text) == state)
        #expect(state.text == text)
    }
}
