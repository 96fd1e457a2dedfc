import ArgumentParser
import Glibc
import SMTPClient

/// `mlab nc [-l] [-k] [-C] [-w SECS] [--netns NAME] [HOST] PORT`, as netcat-openbsd.
struct NcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nc",
        abstract: "Relay stdin and stdout to a TCP connection, like netcat (nc -N).",
        discussion: """
            Connect: mlab nc HOST PORT. Listen: mlab nc -l [HOST] PORT (one connection; -k for \
            one after another). Input EOF half-closes the connection (shutdown SHUT_WR) and the \
            relay goes on until the peer closes. IPv4 and IPv6; --netns runs the socket inside \
            a named namespace (ip netns exec NAME nc …).
            """)

    @Flag(name: .customShort("l"), help: "Listen for a connection instead of connecting.")
    var listen = false
    @Flag(name: .customShort("k"), help: "With -l: accept another connection after each one.")
    var keepListening = false
    @Flag(name: .customShort("C"), help: "Send CRLF as the line end (LF from stdin → CRLF).")
    var crlf = false
    @Option(
        name: .customShort("w"),
        help: ArgumentHelp(
            "Seconds allowed to connect, and idle seconds after which the relay ends.",
            discussion:
                "Without -w, connecting gives up after \(Int(Self.defaultConnectTimeout)) seconds (the relay then never times out), instead of the kernel's two minutes of SYN retries."
        ))
    var timeout: Double?

    /// The connect timeout when `-w` is not given: an unreachable lab address answers
    /// nothing, and the kernel's SYN retries would otherwise keep a student waiting ~2 min.
    static let defaultConnectTimeout: Double = 10
    @Flag(name: .customShort("v"), help: "Report the connection on stderr.")
    var verbose = false
    @Option(name: .customLong("netns"), help: "Run from inside this named namespace.")
    var namespace: String?
    @Argument(help: "HOST PORT to connect to; with -l: [HOST] PORT to listen on.")
    var arguments: [String]

    func validate() throws {
        if listen {
            guard (1...2).contains(arguments.count) else {
                throw ValidationError("usage: mlab nc -l [HOST] PORT")
            }
        } else if arguments.count != 2 {
            throw ValidationError("usage: mlab nc HOST PORT (or mlab nc -l [HOST] PORT)")
        }
        guard UInt16(arguments.last!) != nil else {
            throw ValidationError("port \"\(arguments.last!)\": not a number from 0 to 65535")
        }
        if keepListening && !listen { throw ValidationError("-k needs -l") }
        if let timeout, timeout <= 0 {
            throw ValidationError("-w needs a positive number of seconds")
        }
    }

    func run() throws {
        let port = UInt16(arguments.last!)!
        let options = RelayOptions(crlf: crlf, idleTimeout: timeout)
        do {
            if listen {
                try serve(
                    host: arguments.count == 2 ? arguments[0] : nil, port: port, options: options)
            } else {
                let fd = try TCP.connect(
                    host: arguments[0], port: port, timeout: timeout ?? Self.defaultConnectTimeout,
                    namespace: namespace)
                defer { close(fd) }
                if verbose {
                    printToStandardError(
                        "Connection to \(arguments[0]) \(port) port [tcp] succeeded!")
                }
                _ = try Relay.run(socket: fd, options: options)
            }
        } catch {
            printToStandardError("mlab nc: \(error)")
            throw ExitCode.failure
        }
    }

    private func serve(host: String?, port: UInt16, options: RelayOptions) throws(ClientError) {
        let listener = try TCP.listen(host: host, port: port, namespace: namespace)
        defer { close(listener.fd) }
        if verbose { printToStandardError("Listening on \(host ?? "*") \(listener.port)") }
        repeat {
            let (fd, peer) = try TCP.accept(listener.fd)
            if verbose {
                printToStandardError(
                    "Connection received on \(peer?.host ?? "?") \(peer?.port ?? 0)")
            }
            defer { close(fd) }
            _ = try Relay.run(socket: fd, options: options)
        } while keepListening
    }
}
