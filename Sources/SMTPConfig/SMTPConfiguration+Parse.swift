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

    /// Reads and parses the file at `path` and the files it includes; errors name `path` as
    /// given. This is the only function of the module that touches the file system.
    public static func load(path: String, macros: [String: String] = [:]) throws(ConfigErrors)
        -> SMTPConfiguration
    {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigErrors([
                ConfigError(
                    location: SourceLocation(file: path, line: 0), message: error.description)
            ])
        }
        return try parse(text, fileName: path, macros: macros, includeLoader: readFile)
    }
}

/// Why a file could not be read: `open: No such file or directory`.
/// The whole file; invalid UTF-8 is repaired (the lexer only needs ASCII). The error text
/// leaves out the path: the location in front of it names the file.
func readFile(_ path: String) throws(ConfigFileError) -> String {
    do {
        return String(decoding: try FileSystem.readFile(path), as: UTF8.self)
    } catch {
        throw ConfigFileError(cause: error)
    }
}

struct ConfigFileError: Error, CustomStringConvertible {
    var cause: SystemError
    var description: String { "\(cause.operation): \(cause.reason)" }
}
