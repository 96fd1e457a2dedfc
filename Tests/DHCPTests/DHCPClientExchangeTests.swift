import DHCP
import Testing

/// The client's state machine, datagrams in and out: DISCOVER → OFFER → REQUEST → ACK,
/// replies to others ignored, NAK starting over, retransmission of the same bytes. (A
/// datagram arrives whole: there is no split to test, unlike SMTP's byte stream.)
@Suite struct DHCPClientExchangeTests {
    static let mac: [UInt8] = [0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE]
    static let server = IPv4Address("10.1.0.1")!
    static let offered = IPv4Address("10.1.0.150")!

    /// A server's reply to `request`, as dnsmasq would build it.
    static func reply(
        _ type: DHCPMessageType, to request: DHCPMessage, address: IPv4Address = offered,
        server: IPv4Address = server
    ) -> [UInt8] {
        var message = DHCPMessage(
            operation: .reply, transactionID: request.transactionID,
            hardwareAddress: request.hardwareAddress)
        message.yourAddress = type == .nak ? .any : address
        message.options[DHCPOptionCode.messageType] = [type.rawValue]
        message.options[DHCPOptionCode.serverIdentifier] = server.bytes
        if type != .nak {
            message.options[DHCPOptionCode.leaseTime] = [0, 0, 0x0E, 0x10]
            message.options[DHCPOptionCode.subnetMask] = [255, 255, 255, 0]
            message.options[DHCPOptionCode.router] = server.bytes
            message.options[DHCPOptionCode.domainNameServer] = server.bytes
        } else {
            message.options[DHCPOptionCode.message] = Array("wrong network".utf8)
        }
        return message.bytes
    }

    func sent(_ actions: [DHCPClientExchange.Action]) -> DHCPMessage? {
        for case .send(let message) in actions { return message }
        return nil
    }

    @Test func theFourMessagesBindALease() throws {
        var exchange = DHCPClientExchange(hardwareAddress: Self.mac, transactionID: 42)
        let discover = try #require(sent(exchange.start()))
        #expect(discover.messageType == .discover)
        #expect(discover.flags == DHCPMessage.broadcastFlag)
        #expect(discover.options.clientIdentifier == [1] + Self.mac)
        #expect(discover.options.parameterRequestList == [1, 3, 6, 12])
        let request = try #require(sent(exchange.receive(Self.reply(.offer, to: discover))))
        #expect(request.messageType == .request)
        #expect(request.transactionID == 42)
        #expect(request.options.requestedAddress == Self.offered)
        #expect(request.options.serverIdentifier == Self.server)
        #expect(request.clientAddress == .any)
        let actions = exchange.receive(Self.reply(.ack, to: request))
        let expected = DHCPLease(
            address: Self.offered, prefixLength: 24, routers: [Self.server],
            domainNameServers: [Self.server], leaseTime: 3600, server: Self.server,
            hardwareAddress: Self.mac)
        #expect(actions == [.bound(expected)])
        #expect(exchange.state == .bound(expected))
        #expect(
            expected.description
                == "10.1.0.150/24 from 10.1.0.1 (router 10.1.0.1, dns 10.1.0.1, lease 3600 s)")
        // Once bound, nothing more is sent.
        #expect(exchange.retransmit().isEmpty)
    }

    @Test func repliesToAnotherTransactionOrClientAreIgnored() throws {
        var exchange = DHCPClientExchange(hardwareAddress: Self.mac, transactionID: 7)
        let discover = try #require(sent(exchange.start()))
        var other = discover
        other.transactionID = 8
        #expect(exchange.receive(Self.reply(.offer, to: other)).isEmpty)
        other = discover
        other.hardwareAddress = [2, 0, 0, 0, 0, 1]
        #expect(exchange.receive(Self.reply(.offer, to: other)).isEmpty)
        // An ACK before any OFFER, a client's own broadcast echoed back: nothing.
        #expect(exchange.receive(Self.reply(.ack, to: discover)).isEmpty)
        #expect(exchange.receive(discover.bytes).isEmpty)
        #expect(exchange.state == .selecting)
        // A malformed datagram is a log line, not a state change.
        let actions = exchange.receive([1, 2, 3])
        #expect(actions.count == 1)
        if case .log(let text) = actions.first { #expect(text.contains("240")) }
        #expect(exchange.state == .selecting)
    }

    @Test func anAckFromAnotherServerOrForAnotherAddressIsNotALease() throws {
        var exchange = DHCPClientExchange(hardwareAddress: Self.mac, transactionID: 9)
        let discover = try #require(sent(exchange.start()))
        let request = try #require(sent(exchange.receive(Self.reply(.offer, to: discover))))
        let wrongAddress = exchange.receive(
            Self.reply(.ack, to: request, address: IPv4Address("10.1.0.151")!))
        #expect(!exchange.isBound && wrongAddress.count == 1)
        _ = exchange.receive(Self.reply(.ack, to: request, server: IPv4Address("10.1.0.9")!))
        #expect(!exchange.isBound)
        _ = exchange.receive(Self.reply(.ack, to: request))
        #expect(exchange.isBound)
    }

    @Test func aNakStartsOverWithANewTransactionAndRepeatedNaksGiveUp() throws {
        var exchange = DHCPClientExchange(hardwareAddress: Self.mac, transactionID: 100)
        var discover = try #require(sent(exchange.start()))
        for round in 0...DHCPClientExchange.maximumRestarts {
            let request = try #require(sent(exchange.receive(Self.reply(.offer, to: discover))))
            let actions = exchange.receive(Self.reply(.nak, to: request))
            if round < DHCPClientExchange.maximumRestarts {
                let again = try #require(sent(actions))
                #expect(again.messageType == .discover)
                #expect(again.transactionID == request.transactionID + 1)
                discover = again
            } else {
                #expect(
                    actions == [
                        .failed("DHCPNAK for 10.1.0.150 from 10.1.0.1: wrong network, 4 times")
                    ])
            }
        }
    }

    @Test func retransmittingSendsTheSameBytes() throws {
        var exchange = DHCPClientExchange(hardwareAddress: Self.mac, transactionID: 5)
        let discover = try #require(sent(exchange.start()))
        #expect(sent(exchange.retransmit())?.bytes == discover.bytes)
        let request = try #require(sent(exchange.receive(Self.reply(.offer, to: discover))))
        #expect(sent(exchange.retransmit())?.bytes == request.bytes)
    }

    @Test func theReleaseCarriesTheAddressAndTheServer() throws {
        let lease = DHCPLease(
            address: Self.offered, prefixLength: 24, leaseTime: 60, server: Self.server,
            hardwareAddress: Self.mac)
        let release = try DHCPMessage(
            decoding: DHCPClientExchange.release(lease, transactionID: 3).bytes)
        #expect(release.messageType == .release)
        #expect(release.clientAddress == Self.offered)
        #expect(release.options.serverIdentifier == Self.server)
        #expect(release.flags == 0)
    }

    @Test func leasesRoundTripThroughStateFileWords() {
        let lease = DHCPLease(
            address: Self.offered, prefixLength: 24, routers: [Self.server], leaseTime: 3600,
            server: Self.server, hardwareAddress: Self.mac)
        #expect(
            lease.words == ["10.1.0.150/24", "10.1.0.1", "10.1.0.1", "02:aa:bb:cc:dd:ee", "3600"])
        #expect(DHCPLease(words: lease.words) == lease)
        #expect(DHCPLease(words: ["10.1.0.150/33", "10.1.0.1", "-", "02:aa", "1"]) == nil)
        #expect(DHCPLease(words: ["10.1.0.150/24", "10.1.0.1", "-", "zz", "1"]) == nil)
    }

    @Test func withoutAMaskTheAddressClassDecides() throws {
        var exchange = DHCPClientExchange(hardwareAddress: Self.mac, transactionID: 11)
        let discover = try #require(sent(exchange.start()))
        let request = try #require(sent(exchange.receive(Self.reply(.offer, to: discover))))
        var ack = try DHCPMessage(decoding: Self.reply(.ack, to: request))
        ack.options[DHCPOptionCode.subnetMask] = nil
        let actions = exchange.receive(ack.bytes)
        guard case .bound(let lease) = actions.first else {
            Issue.record("not bound: \(actions)")
            return
        }
        #expect(lease.prefixLength == 8)
    }
}
