/// The client side of RFC 2131 §3.1 as a pure state machine: DISCOVER, take the first
/// usable OFFER, REQUEST it, and be bound by its ACK (a NAK starts over). Bytes in, actions
/// out; the caller owns the socket and the clock (it calls `retransmit()` when its timer
/// fires) and picks the transaction id.
public struct DHCPClientExchange: Sendable {
    public enum State: Sendable, Equatable {
        case initial
        /// DISCOVER sent, waiting for an OFFER.
        case selecting
        /// REQUEST sent for `offer` from `server`.
        case requesting(offer: IPv4Address, server: IPv4Address)
        case bound(DHCPLease)
    }

    public enum Action: Sendable, Equatable {
        /// Broadcast this message to 255.255.255.255:67.
        case send(DHCPMessage)
        /// The exchange is done.
        case bound(DHCPLease)
        /// Something worth a log line (an ignored or refused reply).
        case log(String)
        /// The server keeps refusing: the exchange gave up.
        case failed(String)
    }

    public private(set) var state: State = .initial
    public let hardwareAddress: [UInt8]
    public private(set) var transactionID: UInt32
    /// Option 12, if the client names itself.
    public var hostName: String?
    /// What the client asks for (option 55): mask, router, DNS, host name.
    public static let requestedParameters: [UInt8] = [
        DHCPOptionCode.subnetMask, DHCPOptionCode.router, DHCPOptionCode.domainNameServer,
        DHCPOptionCode.hostName,
    ]
    /// A NAK restarts the exchange; after this many the server is taken at its word.
    public static let maximumRestarts = 3
    private var restarts = 0
    private var lastSent: DHCPMessage?

    public init(hardwareAddress: [UInt8], transactionID: UInt32, hostName: String? = nil) {
        self.hardwareAddress = hardwareAddress
        self.transactionID = transactionID
        self.hostName = hostName
    }

    /// The client identifier (option 61): type 1 (Ethernet) and the hardware address, as
    /// dhclient sends it, so that the server keys the lease the same way for both.
    public var clientIdentifier: [UInt8] { [1] + hardwareAddress }

    func message(_ type: DHCPMessageType) -> DHCPMessage {
        var message = DHCPMessage(
            operation: .request, transactionID: transactionID, hardwareAddress: hardwareAddress)
        // No address yet: the reply must be broadcast, a unicast to the offered address
        // would not be delivered to a socket on an interface without it.
        message.flags = DHCPMessage.broadcastFlag
        message.options[DHCPOptionCode.messageType] = [type.rawValue]
        message.options[DHCPOptionCode.clientIdentifier] = clientIdentifier
        if let hostName, !hostName.isEmpty {
            message.options[DHCPOptionCode.hostName] = Array(hostName.utf8.prefix(255))
        }
        message.options[DHCPOptionCode.parameterRequestList] = Self.requestedParameters
        return message
    }

    /// Sends the DISCOVER.
    public mutating func start() -> [Action] {
        state = .selecting
        let discover = message(.discover)
        lastSent = discover
        return [.send(discover)]
    }

    /// The last message again (the caller's timer fired without an answer).
    public mutating func retransmit() -> [Action] {
        guard let lastSent, !isBound else { return [] }
        return [.send(lastSent)]
    }

    public var isBound: Bool { if case .bound = state { true } else { false } }

    /// A datagram from port 67. Anything not a reply to this exchange is ignored (another
    /// client's, a stale transaction's), anything malformed too, with a log line.
    public mutating func receive(_ bytes: [UInt8]) -> [Action] {
        let reply: DHCPMessage
        do {
            reply = try DHCPMessage(decoding: bytes)
        } catch {
            return [.log("ignored a malformed reply: \(error)")]
        }
        guard reply.operation == .reply, reply.transactionID == transactionID,
            reply.hardwareAddress == hardwareAddress
        else { return [] }
        let type = reply.messageType!
        switch (state, type) {
        case (.selecting, .offer):
            guard let server = reply.options.serverIdentifier, reply.yourAddress != .any,
                reply.yourAddress != .broadcast
            else {
                return [.log("ignored a DHCPOFFER without an address or server identifier")]
            }
            var request = message(.request)
            request.options[DHCPOptionCode.requestedAddress] = reply.yourAddress.bytes
            request.options[DHCPOptionCode.serverIdentifier] = server.bytes
            state = .requesting(offer: reply.yourAddress, server: server)
            lastSent = request
            return [.send(request)]
        case (.requesting(let offer, let server), .ack):
            guard reply.options.serverIdentifier == server, reply.yourAddress == offer,
                let lease = DHCPLease(ack: reply)
            else {
                return [.log("ignored a DHCPACK that does not match the request for \(offer)")]
            }
            state = .bound(lease)
            lastSent = nil
            return [.bound(lease)]
        case (.requesting(let offer, let server), .nak):
            guard reply.options.serverIdentifier == nil || reply.options.serverIdentifier == server
            else { return [] }
            let why = reply.options.message.map { ": \($0)" } ?? ""
            guard restarts < Self.maximumRestarts else {
                state = .initial
                lastSent = nil
                return [.failed("DHCPNAK for \(offer) from \(server)\(why), \(restarts + 1) times")]
            }
            restarts += 1
            transactionID &+= 1
            return [.log("DHCPNAK for \(offer) from \(server)\(why), starting over")] + start()
        default:
            return []
        }
    }

    /// The RELEASE of `lease` (RFC 2131 §4.4.6): unicast to the server, from the address.
    public static func release(_ lease: DHCPLease, transactionID: UInt32) -> DHCPMessage {
        var message = DHCPMessage(
            operation: .request, transactionID: transactionID,
            hardwareAddress: lease.hardwareAddress)
        message.clientAddress = lease.address
        message.options[DHCPOptionCode.messageType] = [DHCPMessageType.release.rawValue]
        message.options[DHCPOptionCode.serverIdentifier] = lease.server.bytes
        message.options[DHCPOptionCode.clientIdentifier] = [1] + lease.hardwareAddress
        return message
    }
}
