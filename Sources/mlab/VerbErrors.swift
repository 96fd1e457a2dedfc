import Glibc
import Lab
import Namespaces
import Netlink

/// A low-level verb's failure in mlab's words: the verb the user typed and the names given,
/// not the iproute2 command underneath.
struct VerbError: Error, CustomStringConvertible {
    var description: String
}

/// Runs the work of `mlab VERB` in `namespace` and rephrases its failures: a namespace that
/// does not exist, an interface that is not where the user looks for it (and where it is
/// instead, e.g. a veth end still in the host), else the kernel's reason after the verb.
func speakingMLab<T>(
    _ verb: String, namespace: String?, device: String? = nil, _ body: () throws -> T
) throws -> T {
    if let namespace, !NetworkNamespace.exists(namespace) {
        let names = (try? NetworkNamespace.list()) ?? []
        var hint = NearMiss.hint(for: namespace, among: names)
        if hint.isEmpty {
            hint = names.isEmpty ? " (there are none)" : " (mlab netns list shows them)"
        }
        throw VerbError(description: "mlab \(verb): no namespace \"\(namespace)\"\(hint)")
    }
    do {
        return try body()
    } catch let error as NetlinkError {
        let place = namespace.map { "namespace \($0)" } ?? "the host namespace"
        if error.errno == ENODEV, let device {
            throw VerbError(
                description: "mlab \(verb): no interface \"\(device)\" in \(place)"
                    + whereElse(device, notIn: namespace))
        }
        if error.errno == ESRCH && verb.hasPrefix("route") {
            throw VerbError(description: "mlab \(verb): no such route in \(place)")
        }
        throw VerbError(description: "mlab \(verb): \(error.reason)")
    } catch let error as NamespaceError {
        throw VerbError(description: "mlab \(verb): \(error.cause)")
    }
}

/// " (found in namespace X, the host namespace)", " (did you mean Y?)" or "".
private func whereElse(_ device: String, notIn namespace: String?) -> String {
    let candidates: [String?] = [nil] + ((try? NetworkNamespace.list()) ?? []).map { $0 }
    // Typically a veth end left where it was created: say where it is.
    let places = candidates.filter { candidate in
        candidate != namespace
            && (try? NetlinkHandle(namespace: candidate).linkIfPresent(named: device)) != nil
    }.map { $0.map { "namespace \($0)" } ?? "the host namespace" }
    if !places.isEmpty { return " (found in \(places.joined(separator: ", ")))" }
    let names = (try? NetlinkHandle(namespace: namespace).links().map(\.name)) ?? []
    return NearMiss.hint(for: device, among: names)
}
