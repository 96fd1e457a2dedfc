import Foundation
import Glibc
import Lab
import LinuxSystem
import MailLabTestSupport
import Netlink
import NamespaceTestSupport
import Namespaces
import Testing

/// Course §5 in real namespaces: conf/lab-uplink.conf's upstream namespace runs Debian's
/// dnsmasq as the outside network's DHCP server; gruen and blau get leases over the bridge
/// (the kit's client, `mlab dhcp`, and the course's own dhclient); from the upstream
/// namespace gruen's smtpd is reachable; `down` gives the leases back; nothing of the host's
/// real interfaces changes.
@Suite(
    .enabled(if: isRoot && access(mlabPath, X_OK) == 0, "needs root and a built mlab"),
    .requires(.ip, .dnsmasq))
struct LabDHCPTests {
    static let range = 100...199
    static let router = "192.168.178.1"

    /// conf/lab-uplink.conf with `edit` applied, parsed for the scratch's names.
    func uplinkLab(_ scratch: LabScratch, _ edit: (String) -> String = { $0 }) throws -> LabSpec {
        let file = confDirectory + "/lab-uplink.conf"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        return try LabParser.parse(edit(text), file: file, renaming: scratch.renaming)
    }

    /// dnsmasq's lease file of the lab's `upstream` statement.
    func dnsmasqLeases(_ spec: LabSpec) throws -> String {
        let server = try #require(
            spec.servers.first {
                if case .dhcpServer = $0.kind { return true }
                return false
            })
        let path =
            "\(LabState.directory)/\(spec.instanceName)/dnsmasq@lan.line\(server.line).leases"
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// The host's real interfaces (loopback and devices that are not virtual) as `ip -o
    /// link` and `ip -o addr` show them: what must not change.
    func realHostInterfaces() throws -> [String] {
        let virtual = Set(
            (try? FileManager.default.contentsOfDirectory(atPath: "/sys/devices/virtual/net"))
                ?? [])
        let all = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")
        let real = Set(all.filter { !virtual.contains($0) } + ["lo"])
        let lines = try (iproute("-o", "link") + iproute("-o", "addr")).split(separator: "\n")
        return lines.filter { line in
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { return false }
            let name = fields[1].split(separator: ":")[0].split(separator: "@")[0]
            return real.contains(String(name))
        }.map(String.init).sorted()
    }

    /// The dhclient daemon of `directory`: the pid in its pid file (written just after the
    /// parent exits, so waited for), if that process is dhclient with this directory on its
    /// command line.
    func dhclientDaemon(of directory: String, waiting seconds: Double = 3) -> pid_t? {
        var found: pid_t?
        _ = eventually(within: seconds) {
            guard
                let text = try? String(
                    contentsOfFile: directory + "/dhclient.pid", encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                let bytes = try? FileSystem.readFile("/proc/\(pid)/cmdline", limit: 1 << 16),
                String(decoding: bytes, as: UTF8.self).contains(directory)
            else { return false }
            found = pid
            return true
        }
        return found
    }

    func address(in namespace: String, of interface: String) throws -> String? {
        let line = try iproute("-n", namespace, "-4", "-o", "addr", "show", "dev", interface)
        return line.split(separator: " ").firstIndex(of: "inet").map {
            String(line.split(separator: " ")[$0 + 1])
        }
    }

    func isInRange(_ prefix: String) -> Bool {
        let parts = prefix.split(separator: "/")
        guard parts.count == 2, parts[1] == "24", parts[0].hasPrefix("192.168.178."),
            let last = Int(parts[0].split(separator: ".")[3])
        else { return false }
        return Self.range.contains(last)
    }

    @Test func theUplinkLabLeasesOverTheBridgeAndTheUpstreamReachesSmtpdInGruen() throws {
        let hostBefore = try realHostInterfaces()
        #expect(!hostBefore.isEmpty)
        try withLabScratch { scratch in
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "mlt-dhcp")
            defer { FileSystem.removeTree(directory) }
            let maildir = directory + "/maildir"
            let course = try String(contentsOfFile: confDirectory + "/smtpd.conf", encoding: .utf8)
            try course.replacingOccurrences(of: "/tmp/maildir", with: maildir).write(
                toFile: directory + "/smtpd.conf", atomically: true, encoding: .utf8)
            let spec = try uplinkLab(scratch) {
                $0.replacingOccurrences(
                    of: "smtpd gruen smtpd.conf", with: "smtpd gruen \(directory)/smtpd.conf")
            }
            let report = try Lab.up(spec)
            #expect(report.leases.count == 2)
            let gruen = scratch.name("gruen")
            let blau = scratch.name("blau")

            // iproute2 as the observer: the leased addresses and default routes are there.
            let gruenAddress = try #require(try address(in: gruen, of: "bbb"))
            let blauAddress = try #require(try address(in: blau, of: "yyy"))
            #expect(isInRange(gruenAddress), "\(gruenAddress)")
            #expect(isInRange(blauAddress), "\(blauAddress)")
            #expect(gruenAddress != blauAddress)
            for (namespace, device) in [(gruen, "bbb"), (blau, "yyy")] {
                #expect(
                    try iproute("-n", namespace, "route", "show", "default")
                        .contains("default via \(Self.router) dev \(device)"))
            }
            // dnsmasq's own record: both leases, with the namespace names as host names.
            let host = String(gruenAddress.split(separator: "/")[0])
            let leases = try dnsmasqLeases(spec)
            #expect(leases.contains(" \(host) gruen "), "\(leases)")
            #expect(leases.contains(" \(blauAddress.split(separator: "/")[0]) blau "))

            // From the outside network (lan) to gruen's smtpd, over the bridge: the course's
            // chat delivers a message.
            let chat = try runToEnd(
                mlabPath,
                [
                    "chat", "--netns", scratch.name("lan"), "--server", host, "--port", "25",
                    confDirectory + "/chat/seed.chat",
                ])
            #expect(chat.status == 0, "\(chat.output)\(chat.errors)")
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: maildir + "/new").count == 1)

            let status = try Lab.status(spec)
            #expect(status.isUp, "\(status.drift) \(status.leases.map { $0.line(spec.renaming) })")
            #expect(status.drift.isEmpty)
            // A second up keeps the leases it holds.
            let again = try Lab.up(spec)
            #expect(again.isUnchanged)
            #expect(try address(in: gruen, of: "bbb") == gruenAddress)

            // down releases each lease while dnsmasq still runs: dnsmasq drops it at once.
            var releasedSeen: [String] = []
            let removed = try Lab.down(spec) { action in
                guard let range = action.range(of: "(released ") else { return }
                let released = String(action[range.upperBound...].dropLast())
                let gone =
                    (try? eventually { !(try dnsmasqLeases(spec)).contains(" \(released) ") })
                if gone == true { releasedSeen.append(released) }
            }
            #expect(
                Set(releasedSeen)
                    == [host, String(blauAddress.split(separator: "/")[0])])
            #expect(removed.first?.hasPrefix("addr yyy@blau dhcp (released 192.168.178.") == true)
            #expect(scratch.leftovers().isEmpty)
            #expect(scratch.stateFiles().isEmpty)
        }
        #expect(try realHostInterfaces() == hostBefore)
    }

    @Test(.requires(.dhclient))
    func mlabDhcpAndTheCoursesDhclientGetLeasesFromTheLabsServer() throws {
        let hostBefore = try realHostInterfaces()
        try withLabScratch { scratch in
            // blau without a lease of up's, no smtpd: the clients under test take one.
            let spec = try uplinkLab(scratch) {
                $0.replacingOccurrences(of: "addr yyy@blau dhcp\n", with: "")
                    .replacingOccurrences(of: "smtpd gruen smtpd.conf\n", with: "")
            }
            _ = try Lab.up(spec)
            let blau = scratch.name("blau")
            #expect(try address(in: blau, of: "yyy") == nil)

            // The kit's client, as the student types it.
            let (taken, output, errors) = try mlab(["dhcp", "-n", blau, "yyy"])
            #expect(taken == 0, "\(errors)")
            #expect(output.hasPrefix("yyy: 192.168.178."))
            #expect(output.hasSuffix("; default via \(Self.router)\n"))
            let leased = try #require(try address(in: blau, of: "yyy"))
            #expect(isInRange(leased))
            let host = String(leased.split(separator: "/")[0])
            #expect(try dnsmasqLeases(spec).contains(" \(host) "))
            let (again, _, twice) = try mlab(["dhcp", "-n", blau, "yyy"])
            #expect(again != 0 && twice.contains("--release first"), "\(twice)")
            let (releaseStatus, released, releaseErrors) = try mlab(
                ["dhcp", "-n", blau, "yyy", "--release"])
            #expect(releaseStatus == 0, "\(releaseErrors)")
            #expect(released == "yyy: released \(host) to \(Self.router)\n")
            #expect(try address(in: blau, of: "yyy") == nil)
            #expect(try iproute("-n", blau, "route", "show", "default").isEmpty)
            #expect(try eventually { !(try dnsmasqLeases(spec)).contains(" \(host) ") })

            // The course's `dhclient yyy`, inside blau only: its lease, pid and script files
            // in a temporary directory, a script that only writes down what it was told.
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "mlt-dhclient")
            defer { FileSystem.removeTree(directory) }
            let script = directory + "/script"
            try
                "#!/bin/sh\necho \"$reason $new_ip_address $new_subnet_mask $new_routers\" >> \(directory)/events\n"
                .write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
            defer {
                // dhclient stays as a daemon after it is bound (this test started it).
                if let pid = dhclientDaemon(of: directory) { kill(pid, SIGKILL) }
            }
            // Our own fork and exec (dhclient forks a daemon once bound and its parent exits):
            // the status is the parent's.
            let status = try NetworkNamespace.exec(
                blau,
                arguments: [
                    ExternalTool.dhclient.path, "-1", "-q", "-sf", script, "-lf",
                    directory + "/dhclient.leases", "-pf", directory + "/dhclient.pid", "-cf",
                    "/dev/null", "yyy",
                ])
            #expect(status == 0)
            let events = try String(contentsOfFile: directory + "/events", encoding: .utf8)
            let bound = try #require(
                events.split(separator: "\n").first { $0.hasPrefix("BOUND ") })
            let words = bound.split(separator: " ").map(String.init)
            #expect(words.count == 4 && words[2] == "255.255.255.0" && words[3] == Self.router)
            #expect(isInRange(words[1] + "/24"), "\(bound)")
            #expect(try dnsmasqLeases(spec).contains(" \(words[1]) "))
            // The daemon it left runs inside blau, not in the host's namespace.
            let daemon = try #require(dhclientDaemon(of: directory))
            #expect(
                try FileSystem.status("/proc/\(daemon)/ns/net").st_ino
                    == (try FileSystem.status(NetworkNamespace.path(of: blau))).st_ino)
            _ = try Lab.down(spec)
            #expect(scratch.leftovers().isEmpty)
        }
        #expect(try realHostInterfaces() == hostBefore)
    }

    @Test func aLeaseThatDoesNotComeRollsUpBackAndGivesTheOthersBack() throws {
        try withLabScratch { scratch in
            // One address for two clients: blau gets none.
            let spec = try uplinkLab(scratch) {
                $0.replacingOccurrences(
                    of: "192.168.178.100-192.168.178.199", with: "192.168.178.100-192.168.178.100"
                ).replacingOccurrences(of: "smtpd gruen smtpd.conf\n", with: "")
            }
            #expect {
                _ = try Lab.up(spec, dhcpTimeout: 2)
            } throws: { error in
                let text = "\(error)"
                return text.contains("lab-uplink.conf:26: addr yyy@blau dhcp: dhcp on yyy@")
                    && text.contains("no lease after 2 s (sent ")
                    && text.contains(
                        "rolled back the 27 changes it had made: addr bbb@gruen dhcp (released 192.168.178.100), upstream wan@lan"
                    )
            }
            #expect(scratch.leftovers().isEmpty)
            #expect(scratch.stateFiles().isEmpty)
        }
    }

    @Test func mlabDhcpWithoutAServerSaysWhatItSentAndChangesNothing() throws {
        try withLabScratch { scratch in
            let spec = try uplinkLab(scratch) {
                $0.replacingOccurrences(of: "upstream wan@lan", with: "# upstream wan@lan")
                    .replacingOccurrences(of: "addr bbb@gruen dhcp\n", with: "")
                    .replacingOccurrences(of: "addr yyy@blau dhcp\n", with: "")
                    .replacingOccurrences(of: "smtpd gruen smtpd.conf\n", with: "")
            }
            _ = try Lab.up(spec)
            let blau = scratch.name("blau")
            let (status, _, errors) = try mlab(["dhcp", "--timeout", "1.5", "-n", blau, "yyy"])
            #expect(status == 1)
            #expect(
                errors
                    == "Error: mlab dhcp on yyy@\(blau): no lease after 1.5 s (sent 2 DHCPDISCOVER; is a DHCP server on this network?)\n"
            )
            #expect(try address(in: blau, of: "yyy") == nil)
            let (released, _, nothing) = try mlab(["dhcp", "-n", blau, "yyy", "--release"])
            #expect(released == 1 && nothing.contains("no lease held"), "\(nothing)")
            let (missing, _, noSuch) = try mlab(["dhcp", "-n", blau, "yyz"])
            #expect(missing == 1)
            #expect(noSuch.contains("no interface \"yyz\" in namespace \(blau)"), "\(noSuch)")
            _ = try Lab.down(spec)
        }
    }

    @Test func checkProbesTheLeasedAddressesFromTheOutsideNetwork() async throws {
        let scratch = LabScratch()
        defer { scratch.teardown() }
        let spec = try uplinkLab(scratch) {
            $0.replacingOccurrences(of: "smtpd gruen smtpd.conf\n", with: "")
        }
        let report = try Lab.up(spec)
        let gruen = try #require(
            report.leases.first { $0.interface.namespace == scratch.name("gruen") })
        let result = try await Lab.check(spec)
        #expect(result.passed, "\(result.matrix())")
        #expect(
            result.probes.contains {
                $0.source == scratch.name("lan")
                    && $0.address == IPAddress.v4(gruen.lease.address.value) && $0.expected
                    && $0.actual == true
            })
        _ = try Lab.down(spec)
        #expect(scratch.leftovers().isEmpty)
    }

    /// The `--allow-nic` path without a real NIC: the lab's host is a scratch namespace and
    /// the "NIC" a veth end the test made in it (its peer elsewhere), which the lab did not
    /// make: up plugs it into the bridge, down unplugs it and leaves it.
    @Test func anAllowedNICIsPluggedInByUpAndUnpluggedByDown() throws {
        try withLabScratch { scratch in
            let host = scratch.name("host")
            let far = scratch.name("far")
            try NetworkNamespace.add(host)
            try NetworkNamespace.add(far)
            try NetlinkHandle(namespace: host).addVeth("nic0", peer: "nic1", peerNamespace: far)
            let spec = try LabParser.parse(
                "bridge br0@host\nuplink br0@host nic nic0\n", file: "t.conf",
                renaming: scratch.renaming)
            let report = try Lab.up(spec, allowNICs: ["nic0"])
            #expect(
                report.applied.map(\.description).contains("ip -n \(host) link set nic0 master br0")
            )
            #expect(try iproute("-n", host, "link", "show", "nic0").contains("master br0"))
            let status = try Lab.status(spec)
            #expect(status.isUp, "\(status.items) \(status.drift)")
            _ = try Lab.down(spec)
            let after = try iproute("-n", host, "link", "show", "nic0")
            #expect(!after.contains("master"), "\(after)")
            #expect(!(try iproute("-n", host, "link").contains("br0")))
        }
    }

    @Test func aServerFailingAfterTheLeasesGivesThemBack() throws {
        try withLabScratch { scratch in
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "mlt-dhcp-bad")
            defer { FileSystem.removeTree(directory) }
            try "listen on bbx port 25\n".write(
                toFile: directory + "/smtpd.conf", atomically: true, encoding: .utf8)
            let spec = try uplinkLab(scratch) {
                $0.replacingOccurrences(
                    of: "smtpd gruen smtpd.conf", with: "smtpd gruen \(directory)/smtpd.conf")
            }
            #expect {
                _ = try Lab.up(spec)
            } throws: { error in
                let text = "\(error)"
                return text.contains("lab-uplink.conf:28: smtpd gruen ")
                    && text.contains(
                        "rolled back the 28 changes it had made: addr yyy@blau dhcp (released 192.168.178."
                    )
                    && text.contains("addr bbb@gruen dhcp (released 192.168.178.")
                    && text.contains(
                        "upstream wan@lan dhcp 192.168.178.100-192.168.178.199 router 192.168.178.1 (stopped)"
                    )
            }
            #expect(scratch.leftovers().isEmpty)
            #expect(scratch.stateFiles().isEmpty)
        }
    }
}
