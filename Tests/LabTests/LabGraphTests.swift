import Foundation
import Lab
import MailLabTestSupport
import Testing

/// `mlab lab graph`: golden DOT and Mermaid text for every shipped lab, and SVG that a real
/// renderer turns into a picture. `MAILLAB_UPDATE_GOLDEN=1` rewrites the golden files.
@Suite struct LabGraphTests {
    static let labs = ["seed", "daisy", "bridge", "uplink"]
    static let goldenDirectory = packageRoot + "/Tests/Fixtures/lab-graphs"

    private func spec(_ lab: String) throws -> LabSpec {
        let file = "conf/lab-\(lab).conf"
        let text = try String(contentsOfFile: packageRoot + "/" + file, encoding: .utf8)
        return try LabParser.parse(text, file: file)
    }

    @Test(arguments: labs, [LabGraph.Format.dot, .mermaid])
    func textFormatsMatchTheirGoldenFiles(lab: String, format: LabGraph.Format) throws {
        let rendered = LabGraph.render(try spec(lab), as: format)
        let path = "\(Self.goldenDirectory)/\(lab).\(format == .dot ? "dot" : "mmd")"
        if ProcessInfo.processInfo.environment["MAILLAB_UPDATE_GOLDEN"] == "1" {
            try rendered.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(rendered == golden, "\(path) differs; MAILLAB_UPDATE_GOLDEN=1 rewrites it")
    }

    @Test func everyCableAndAddressOfTheFileIsInThePicture() throws {
        let daisy = try spec("daisy")
        let svg = LabGraph.render(daisy, as: .svg)
        for address in daisy.addresses { #expect(svg.contains(address.prefix.description)) }
        for name in ["gruen", "blau", "rot", "ccc", "ddd", "eee", "fff", "router"] {
            #expect(svg.contains(name), "\(name) missing")
        }
        #expect(svg.components(separatedBy: "<path ").count - 1 == daisy.veths.count)
        #expect(svg.contains("20.0.0.0/24 via 10.0.0.1"))
    }

    @Test func aHostThatForwardsIsDrawnAsARouter() throws {
        let text = "netns a\nnetns b\nveth x@a y@host\nveth z@host w@b\n"
        let plain = LabGraph.render(try LabParser.parse(text, file: "t.conf"), as: .dot)
        let routed = LabGraph.render(
            try LabParser.parse(text + "forward host\n", file: "t.conf"), as: .dot)
        #expect(!plain.contains("host (router)"))
        #expect(routed.contains("host (router)"), "\(routed)")
    }

    @Test func expectLinesAreDrawnAsANoteInEveryFormat() throws {
        let text =
            try String(contentsOfFile: packageRoot + "/conf/lab-daisy.conf", encoding: .utf8)
            + "expect gruen -> rot\nexpect gruen -/-> blau:25\nexpect rot -> 10.0.0.2:80\n"
        let spec = try LabParser.parse(text, file: "lab-daisy.conf")
        let lines = ["gruen -> rot (ping)", "gruen -/-> blau:25 (TCP)", "rot -> 10.0.0.2:80 (TCP)"]
        #expect(LabTopology(spec).intent == lines)
        let dot = LabGraph.render(spec, as: .dot)
        #expect(dot.contains("intent [shape=note, label=\"expect gruen -> rot (ping)\\l"), "\(dot)")
        let mermaid = LabGraph.render(spec, as: .mermaid)
        #expect(
            mermaid.contains(
                "  intent[\"expect gruen -> rot (ping)<br>expect gruen -/-> blau:25 (TCP)"))
        let svg = LabGraph.render(spec, as: .svg)
        #expect(svg.contains(">expect gruen -/-&gt; blau:25 (TCP)</text>"), "\(svg)")
        // The shipped daisy, without expect lines, is drawn as before (its golden file).
        #expect(!LabGraph.render(try self.spec("daisy"), as: .dot).contains("intent"))
    }

    @Test(.requires(.rsvgConvert), arguments: labs)
    func theSVGRendersToAPictureOfSaneSize(lab: String) throws {
        let directory = NSTemporaryDirectory() + "lab-graph-\(getpid())-\(lab)"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let svg = directory + "/lab.svg"
        let png = directory + "/lab.png"
        try LabGraph.render(try spec(lab), as: .svg).write(
            toFile: svg, atomically: true, encoding: .utf8)
        let result = try runToEnd(ExternalTool.rsvgConvert.path, [svg, "-o", png])
        #expect(result.status == 0, "\(result.errors)")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
        try #require(bytes.count > 24 && bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        // IHDR: width and height, big-endian, at offsets 16 and 20.
        func word(_ offset: Int) -> Int {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        let (width, height) = (word(16), word(20))
        #expect((300...4000).contains(width) && (150...2000).contains(height), "\(width)×\(height)")
        #expect(bytes.count > 5_000, "an almost empty picture")
    }
}
