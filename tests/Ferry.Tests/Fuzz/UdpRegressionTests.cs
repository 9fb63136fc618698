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
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(fixedUp.AsSpan(4), 0x1122334455667788);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(fixedUp.AsSpan(12), 0xE3C2E9436D646780);
        Packet.Seal(fixedUp, fixedUp.Length - Packet.TrailerSize);
        Assert.Equal(PacketError.Malformed, Packet.TryParse(fixedUp, out _));

        // The largest allowed packet number is accepted, and acknowledged without trouble.
        var client = Connection.CreateClient(new ConnectionConfig(), 0x1122334455667788, TransferOp.Get, "f", 0, 0, null, 0);
        var max = UdpSeeds.Data(0x1122334455667788, VarInt.MaxValue, (ref Ferry.Protocol.Common.SpanWriter w) => FrameCodec.TryWritePing(ref w));
        Assert.Equal(PacketError.None, Packet.TryParse(max, out var packet));
        client.HandlePacket(1, packet);
        var buffer = new byte[Packet.MaxMaxDatagram];
        Assert.True(client.PollTransmit(1, buffer) > 0);
    }
}
