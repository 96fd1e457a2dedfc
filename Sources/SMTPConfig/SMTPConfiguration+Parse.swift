import Glibc
import LinuxSystem

extension SMTPConfiguration {
    /// Parses smtpd.conf text (either grammar, or both mixed). `fileName` is used in error
    /// locations; `macros` are `-D name=value` definitions, which win over the file's;
    /// `includeLoader` returns the text of an `include`d absolute path. Throws every error
    /// found, in order. (OpenSMTPD: `parse_config`.)
    public static func parse(
        _ text: String, fileName: String, macros: [String: String] = [:],
        includeLoader: (String) throws -> String
    ) throws(ConfigErrors) -> SMTPConfiguration {
        let (config, errors) = withoutActuallyEscaping(includeLoader) { loader in
            var parser = ConfigParser(
                text: text, file: fileName, macros: macros, includeLoader: loader)
            return parser.run()
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return config
    }

    /// Parses a fault file for a running server (`smtpctl load faults`): `fault` statements
    /// and macro definitions only, no `include`, no rule needed. The result has only
    /// `faults` and `faultSeed` set.
    public static func parseFaults(_ text: String, fileName: String) throws(ConfigErrors)
        -> SMTPConfiguration
    {
        var parser = ConfigParser(
            text: text, file: fileName, macros: [:],
            includeLoader: { path in throw FaultFileInclude(path: path) })
        parser.faultsOnly = true
        let (config, errors) = parser.run()
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return config
    }

    /// Reads and parses the file at `path` and the files it includes; errors name `path` as
    /// given. This is the only function of the module that touches the file system.
    public static func load(path: String, macros: [String: String] = [:]) throws(ConfigErrors)
        -> SMTPConfiguration
    {
        let text: String
        do {
            text = try readFile(path, regularOnly: false)
        } catch {
            throw ConfigErrors([
                ConfigError(
                    location: SourceLocation(file: path, line: 0), message: error.description)
            ])
        }
        return try parse(text, fileName: path, macros: macros) { path throws(ConfigFileError) in
            try readFile(path, regularOnly: true)
        }
    }
}

/// `include` never happens in a fault file (the statement is refused first); the loader
/// refuses anyway.
struct FaultFileInclude: Error, CustomStringConvertible {
    var path: String
    var description: String { "include \(path): not allowed in a fault file" }
}

/// The most a configuration file (or an included one) may hold: `include "/dev/zero"` must
/// end, not read for ever.
let configFileLimit = 16 << 20

/// The whole file, at most `configFileLimit` bytes; with `regularOnly` (included files)
/// nothing but a regular file: a FIFO, a device or a directory is refused before a byte is
/// read. Invalid UTF-8 is repaired (the lexer only needs ASCII). The error text leaves out
/// the path: the location in front of it names the file.
func readFile(_ path: String, regularOnly: Bool) throws(ConfigFileError) -> String {
    do {
        return String(
            decoding: try FileSystem.readFile(
                path, limit: configFileLimit, regularOnly: regularOnly),
            as: UTF8.self)
    } catch {
        throw ConfigFileError(cause: error)
    }
}

/// Why a file could not be read: `open: No such file or directory`, `not a regular file`.
struct ConfigFileError: Error, CustomStringConvertible {
    var cause: SystemError
    var description: String {
        switch (cause.operation, cause.errno) {
        case ("read", EISDIR): "is a directory"
        case ("read", EINVAL): "not a regular file"
        case ("read", EFBIG): "larger than \(configFileLimit >> 20) MiB"
        default: "\(cause.operation): \(cause.reason)"
        }
    }
}
