using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Fuzz;

/// <summary>Inputs the fuzzer found that once broke a UDP parser or state machine, kept as they were found.</summary>
public class UdpRegressionTests
{
    [Fact]
    public void A_packet_number_above_the_varint_range_is_malformed_and_cannot_break_the_ack_writer()
    {
        // udp.client, seed 20261121, input #13528: a PING whose packet number (0x0E3C2E94_36D64678) is above 2^62-1.
        // The client recorded it, then threw "varint does not fit" writing the ACK.
        var datagram = Convert.FromHexString("F701030011228800E3C2E9436D646780280067050179EE7F6F");
        var fixedUp = (byte[])datagram.Clone();
        fixedUp[1] = Packet.Version; // found under protocol version 1; the layout is the same
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(fixedUp.AsSpan(4), 0x1122334455667788);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(fixedUp.AsSpan(12), 0xE3C2E9436D646780);
        Packet.Seal(fixedUp, fixedUp.Length - Packet.TrailerSize);
        Assert.Equal(PacketError.Malformed, Packet.TryParse(fixedUp, out _));

        // The largest allowed packet number is accepted, and acknowledged without trouble.
        var client = Connection.CreateClient(new ConnectionConfig { Security = new UdpSecurity { Insecure = true } }, 0x1122334455667788, TransferOp.Get, "f", 0, 0, null, 0);
        var max = UdpSeeds.Data(0x1122334455667788, VarInt.MaxValue, (ref Ferry.Protocol.Common.SpanWriter w) => FrameCodec.TryWritePing(ref w));
        Assert.Equal(PacketError.None, Packet.TryParse(max, out var packet));
        client.HandlePacket(1, packet);
        var buffer = new byte[Packet.MaxMaxDatagram];
        Assert.True(client.PollTransmit(1, buffer) > 0);
    }

    [Fact]
    public void A_client_whose_accept_packet_also_closes_the_connection_ignores_the_late_start()
    {
        // udp.client, seed 5, input #132636: ACCEPT then a DATA_FIN with the wrong size in one packet. The client
        // queued Accepted then closed; the shell's StartReceiving on Accepted threw InvalidOperationException.
        var datagram = Convert.FromHexString("F701030011223344556677880000000000000008060000000000AC004D450080100000000000000008060000000000AC004D450080100000000000000008060000000000AC004D45008010DAB6EC");
        var client = Connection.CreateClient(new ConnectionConfig { Security = new UdpSecurity { Insecure = true } }, 0x1122334455667788, TransferOp.Get, "f", 0, 0, null, 0);
        datagram[1] = Packet.Version; // found under protocol version 1; the layout is the same
        Packet.Seal(datagram, datagram.Length - Packet.TrailerSize);
        Assert.Equal(PacketError.None, Packet.TryParse(datagram, out var found));
        client.HandlePacket(1, found);
        // As found, four PADDING bytes sit between the ACCEPT and the DATA_FIN: PADDING runs to the end of the packet now,
        // so that packet is malformed and dropped whole. The same frames without the padding still make the race.
        Assert.False(client.TryPollEvent(out _));
        var packed = datagram[..36].Concat(datagram[40..]).ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(packed.AsSpan(12), 9);
        Packet.Seal(packed, packed.Length - Packet.TrailerSize);
        Assert.Equal(PacketError.None, Packet.TryParse(packed, out var packet));
        client.HandlePacket(2, packet);
        Assert.True(client.TryPollEvent(out var accepted));
        Assert.Equal(ConnectionEventKind.Accepted, accepted.Kind);
        client.StartReceiving(new NullDataSink(), null);
        Assert.True(client.TryPollEvent(out var closed));
        Assert.Equal(ConnectionEventKind.Closed, closed.Kind);
        Assert.Equal(TransferError.ProtocolViolation, closed.Code);
    }

    [Fact]
    public void A_server_whose_request_packet_also_closes_the_connection_ignores_the_late_accept()
    {
        // Same race on the server (found reading the client case): one Initial carrying REQUEST then CLOSE made
        // UdpServerListener's Accept throw InvalidOperationException out of its loop.
        var rng = new Random(3);
        var key = new byte[32];
        rng.NextBytes(key);
        var server = new ServerEndpoint(new ConnectionConfig(), key, () => (ulong)rng.NextInt64(1, long.MaxValue));
        var peer = new PeerAddress(0x7F000001, 999);
        server.HandleDatagram(0, UdpSeeds.Initial(5, [], TransferOp.Get, "f", 0), peer);
        var buffer = new byte[Packet.MaxMaxDatagram];
        int n = server.PollTransmit(0, buffer, out _);
        Assert.Equal(PacketError.None, Packet.TryParse(buffer.AsSpan(0, n), out var retry));
        var token = retry.Token.ToArray();

        var initial = UdpSeeds.Initial(5, token, TransferOp.Get, "f", 0);
        // Replace the padding after the REQUEST by a CLOSE frame.
        // (HELLO "01 00": 4 bytes; REQUEST's token "ferry_token": 12 bytes, both added with protocol version 2.)
        // REQUEST: type, op, max datagram 1452 (2), path "f" (2), size 0, identity size 0, identity mtime 1234 (2), token.
        int requestEnd = Packet.HeaderSize + 10 + token.Length + 4 + 1 + 1 + 2 + 2 + 1 + 1 + 2 + 12;
        var w = new Ferry.Protocol.Common.SpanWriter(initial.AsSpan(requestEnd, initial.Length - requestEnd - Packet.TrailerSize));
        Assert.True(FrameCodec.TryWriteCodeMessage(ref w, FrameType.Close, 0, "bye"));
        Packet.Seal(initial, initial.Length - Packet.TrailerSize);
        server.HandleDatagram(1, initial, peer);

        Assert.True(server.TryPollEvent(out var c, out var ev));
        Assert.Equal(ConnectionEventKind.RequestReceived, ev.Kind);
        Assert.Equal(ConnectionState.Closed, c.State);
        c.Accept(10, 0, new NullDataSink(), null, null);
        Assert.True(server.TryPollEvent(out _, out var closed));
        Assert.Equal(ConnectionEventKind.Closed, closed.Kind);
        Assert.True(closed.ByPeer);
    }
}
