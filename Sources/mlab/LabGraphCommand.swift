import ArgumentParser
import Lab
import LinuxSystem

extension LabGraph.Format: ExpressibleByArgument {}

extension LabCommand {
    /// `mlab lab graph FILE`: the lab file as a picture (needs no root, touches nothing).
    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "graph",
            abstract: "Draw the lab file: SVG (default), Graphviz DOT or Mermaid.",
            discussion: """
                Namespaces are boxes (forwarding ones marked as routers), veths cables between \
                their two ends, bridges switches; addresses and routes are written in. From the \
                file alone: open the SVG in a browser, or `dot -Tpng` the DOT.
                """)
        @OptionGroup var lab: LabCommand.LabOptions
        @Option(help: "svg, dot or mermaid.") var format: LabGraph.Format = .svg
        @Option(name: [.short, .long], help: "Write to this file instead of standard output.")
        var output: String?

        func run() throws {
            let text = LabGraph.render(try lab.load(), as: format)
            if let output {
                do {
                    try FileSystem.writeFile(output, Array(text.utf8))
                } catch {
                    throw ValidationError("\(output): cannot write: \(error.reason)")
                }
            } else {
                writeStandardOutput(text)
            }
        }
    }
}
