using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Udp;

/// <summary>The server endpoint under spoofed, random and truncated input (pure: no sockets, fake time).</summary>
public class ServerEndpointHostileTests
{
    private static ServerEndpoint NewServer(int seed = 1)
    {
        var rng = new Random(seed);
        var key = new byte[32];
        rng.NextBytes(key);
        return new ServerEndpoint(new ConnectionConfig(), key, () => (ulong)rng.NextInt64(1, long.MaxValue));
    }

    private static byte[] Initial(ulong clientId, ReadOnlySpan<byte> token, string path = "f", int size = Packet.MinInitialSize)
    {
        var buffer = new byte[size];
        int pos = Packet.WriteHeader(buffer, PacketType.Initial, 0, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(pos), clientId);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(pos + 8), (ushort)token.Length);
        token.CopyTo(buffer.AsSpan(pos + 10));
        var w = new SpanWriter(buffer.AsSpan(pos + 10 + token.Length, size - pos - 10 - token.Length - Packet.TrailerSize));
        FrameCodec.TryWriteHello(ref w, FrameType.Hello, [Ferry.Protocol.Security.HandshakeMessages.Version, Ferry.Protocol.Security.HandshakeMessages.SuiteNone]);
        FrameCodec.TryWriteRequest(ref w, TransferOp.Get, 1452, path, 0, 0, 0, "");
        Packet.Seal(buffer, size - Packet.TrailerSize);
        return buffer;
    }

    private static List<byte[]> Drain(ServerEndpoint server, long now)
    {
        var list = new List<byte[]>();
        var buf = new byte[65536];
        int n;
        while ((n = server.PollTransmit(now, buf, out _)) > 0)
        {
            list.Add(buf[..n]);
        }

        return list;
    }

    [Fact]
    public void Spoofed_initials_create_no_state_and_are_answered_with_at_most_a_third_of_their_size()
    {
        var server = NewServer();
        long now = 5_000_000;
        long received = 0, sent = 0;
        var rng = new Random(2);
        for (int i = 0; i < 10_000; i++)
        {
            var from = new PeerAddress((UInt128)rng.NextInt64(), (ushort)rng.Next(1, 65535));
            var dgram = Initial((ulong)rng.NextInt64(1, long.MaxValue), ReadOnlySpan<byte>.Empty);
            received += dgram.Length;
            server.HandleDatagram(now, dgram, from);
            sent += Drain(server, now).Sum(d => d.Length);
        }

        Assert.Empty(server.Connections);
        Assert.Equal(10_000, server.Stats.RetriesSent);
        double ratio = (double)sent / received;
        Assert.True(ratio < 0.1, $"amplification ratio {ratio:F3} (must stay far below 3)");
    }

    [Fact]
    public void A_token_is_bound_to_the_address_and_client_id_and_expires()
    {
        var server = NewServer();
        var alice = new PeerAddress(0xA11CE, 1000);
        var mallory = new PeerAddress(0xBAD, 1000);
        long now = 1_000_000_000;
        server.HandleDatagram(now, Initial(42, ReadOnlySpan<byte>.Empty), alice);
        var retry = Drain(server, now).Single();
        Assert.Equal(PacketError.None, Packet.TryParse(retry, out var p));
        Assert.Equal(PacketType.Retry, p.Type);
        var token = p.Token.ToArray();

        server.HandleDatagram(now, Initial(42, token), mallory);      // other address
        server.HandleDatagram(now, Initial(43, token), alice);        // other client id
        server.HandleDatagram(now + 11_000_000, Initial(42, token), alice); // expired
        Assert.Empty(server.Connections);
        Assert.Equal(3, server.Stats.InvalidTokens);

        server.HandleDatagram(now + 1_000, Initial(42, token), alice);
        Assert.Single(server.Connections);
    }

    [Fact]
    public void Unpadded_initials_are_ignored()
    {
        var server = NewServer();
        server.HandleDatagram(0, Initial(7, ReadOnlySpan<byte>.Empty, size: 300), new PeerAddress(1, 1));
        Assert.Empty(Drain(server, 0));
        Assert.Equal(1, server.Stats.ShortInitial);
    }

    [Fact]
    public void Random_and_truncated_datagrams_never_throw_nor_create_state()
    {
        var server = NewServer();
        var rng = new Random(3);
        var valid = Initial(9, new byte[RetryTokens.TokenLength]);
        var buf = new byte[2000];
        for (int i = 0; i < 200_000; i++)
        {
            int length;
            switch (i % 3)
            {
                case 0:
                    length = rng.Next(buf.Length);
                    rng.NextBytes(buf.AsSpan(0, length));
                    break;
                case 1:
                    length = rng.Next(valid.Length);
                    valid.AsSpan(0, length).CopyTo(buf);
                    break;
                default:
                    // Valid checksum over random frames: exercises every frame decoder with junk.
                    length = rng.Next(Packet.HeaderSize + Packet.TrailerSize, 1500);
                    rng.NextBytes(buf.AsSpan(0, length));
                    buf[0] = Packet.Magic;
                    buf[1] = Packet.Version;
                    buf[2] = (byte)rng.Next(0, 5);
                    Packet.Seal(buf, length - Packet.TrailerSize);
                    break;
            }

            server.HandleDatagram(i, buf.AsSpan(0, length), new PeerAddress((UInt128)i, 9));
            Drain(server, i);
        }

        Assert.Empty(server.Connections);
        Assert.True(server.Stats.Malformed + server.Stats.BadChecksum + server.Stats.UnknownConnection > 100_000);
    }

    [Fact]
    public void Random_frames_inside_an_established_connection_never_throw()
    {
        // A connection fed junk frames with valid checksums either ignores them or closes with a protocol error.
        var rng = new Random(4);
        var buf = new byte[1500];
        for (int round = 0; round < 2_000; round++)
        {
            var c = Connection.CreateClient(new ConnectionConfig(), 77, TransferOp.Get, "f", 0, 0, null, 0);
            for (int i = 0; i < 20; i++)
            {
                int length = rng.Next(Packet.HeaderSize + Packet.TrailerSize, buf.Length);
                rng.NextBytes(buf.AsSpan(0, length));
                Packet.WriteHeader(buf, PacketType.Data, 77, (ulong)i);
                int payload = Packet.HeaderSize;
                buf[payload] = (byte)rng.Next(0, 12); // a plausible frame type first
                Packet.Seal(buf, length - Packet.TrailerSize);
                Assert.Equal(PacketError.None, Packet.TryParse(buf.AsSpan(0, length), out var p));
                c.HandlePacket(i * 1000, p);
                c.PollTransmit(i * 1000, new byte[2000]);
            }
        }
    }
}
