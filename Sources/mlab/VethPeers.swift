import Namespaces
import Netlink

/// Names the other end of a veth for `link list`: `NAME` in the same namespace,
/// `NAME@NAMESPACE` elsewhere (`host` for the initial namespace). The kernel gives only an
/// index and a namespace id, so the id is matched against every named namespace once.
struct VethPeers {
    let handle: NetlinkHandle
    let links: [Link]
    /// Namespace id → (name, namespace), as this handle's namespace numbers them.
    private var namespaces: [Int32: (name: String, namespace: String?)] = [:]

    init(handle: NetlinkHandle, links: [Link]) {
        self.handle = handle
        self.links = links
        guard links.contains(where: { $0.peerNamespaceID != nil }) else { return }
        var candidates: [(String, String?)] = [("host", nil)]
        candidates += ((try? NetworkNamespace.list()) ?? []).map { ($0, $0) }
        for (name, namespace) in candidates where namespace != handle.namespace {
            let path = namespace.map(NetworkNamespace.path(of:)) ?? "/proc/1/ns/net"
            if let id = try? handle.namespaceID(ofNamespaceAt: path) {
                namespaces[id] = (name, namespace)
            }
        }
    }

    func describe(_ link: Link) -> String {
        guard let index = link.peerIndex else { return "?" }
        guard let id = link.peerNamespaceID else {
            return links.first { $0.index == index }?.name ?? "#\(index)"
        }
        guard let (name, namespace) = namespaces[id] else {
            return "#\(index) in an unnamed namespace (id \(id))"
        }
        let peer = try? NetlinkHandle(namespace: namespace).links().first { $0.index == index }
        return "\(peer?.name ?? "#\(index)")@\(name)"
    }
}
