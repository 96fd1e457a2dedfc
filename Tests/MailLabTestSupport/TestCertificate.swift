import Foundation

/// A self-signed certificate and key for CN=localhost, made once per test run with the
/// `openssl` CLI in a temporary directory, which is removed when the test process exits. Suites that use it say `.requires(.openssl)`; when
/// openssl is there but fails, `make()` throws with its output: that is a failure, not a skip.
public struct TestCertificate: Sendable {
    public let directory: String
    public let certificate: String
    public let key: String

    /// The certificate of this run, or why openssl could not make it.
    public static func make() throws -> TestCertificate { try shared.get() }

    private static let shared: Result<TestCertificate, CertificateError> = {
        let directory = certificateDirectory
        let made = TestCertificate(
            directory: directory, certificate: directory + "/cert.pem", key: directory + "/key.pem")
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true)
            atexit { try? FileManager.default.removeItem(atPath: certificateDirectory) }
            let result = try runToEnd(
                ExternalTool.openssl.path,
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "1", "-keyout", made.key, "-out", made.certificate,
                ])
            guard result.status == 0 else {
                return .failure(
                    CertificateError(
                        description: "openssl req exited \(result.status): " + result.errors))
            }
            return .success(made)
        } catch {
            return .failure(CertificateError(description: "openssl req: \(error)"))
        }
    }()
}

private let certificateDirectory = NSTemporaryDirectory() + "maillab-tls-\(getpid())"

public struct CertificateError: Error, CustomStringConvertible {
    public let description: String
}
