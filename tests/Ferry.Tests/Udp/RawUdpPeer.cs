using System.Buffers.Binary;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Fuzz;

namespace Ferry.Tests.Udp;

/// <summary>One frame a server sent, copied out of its datagram.</summary>
internal sealed record SeenFrame(FrameType Type, long Code, string Text, ulong[] Acked, long Offset, ulong ConnectionId);

/// <summary>One packet a server sent, decoded (cleartext only).</summary>
internal sealed record SeenPacket(PacketType Type, ulong PacketNumber, int Length, List<SeenFrame> Frames)
{
    public bool Has(FrameType type) => Frames.Any(f => f.Type == type);

    public bool Acknowledges(ulong pn) => Frames.Any(f => f.Type == FrameType.Ack && f.Acked.Contains(pn));
}

/// <summary>
/// A hand-written cleartext (<c>--insecure</c>) client talking to a <see cref="ServerEndpoint"/> packet by packet, so a
/// test can send exactly the frames, packet numbers and sizes a peer written from docs/PROTOCOL.md might. Fake time.
/// </summary>
internal sealed class RawUdpPeer
{
    public static readonly byte[] CleartextHello = [Ferry.Protocol.Security.HandshakeMessages.Version, Ferry.Protocol.Security.HandshakeMessages.SuiteNone];

    private readonly byte[] _buffer = new byte[Packet.MaxMaxDatagram];

    public RawUdpPeer(ulong clientId = 4242, ConnectionConfig? config = null, int maxHalfOpen = ServerEndpoint.DefaultMaxHalfOpen)
    {
        var rng = new Random(17);
        var key = new byte[32];
        rng.NextBytes(key);
        Server = new ServerEndpoint(config ?? new ConnectionConfig { Security = new UdpSecurity { AllowInsecure = true } }, key,
            () => (ulong)rng.NextInt64(1, long.MaxValue), maxHalfOpen: maxHalfOpen);
        ClientId = clientId;
    }

    /// <summary>A second client of <paramref name="other"/>'s server, from another address.</summary>
    public RawUdpPeer(RawUdpPeer other, ulong clientId, PeerAddress address)
    {
        Server = other.Server;
        ClientId = clientId;
        Address = address;
        Now = other.Now;
    }

    public ServerEndpoint Server { get; }

    public ulong ClientId { get; }

    public PeerAddress Address { get; } = new(0x7F00_0001, 40000);

    public long Now { get; set; } = 3_000_000_000;

    public byte[] Token { get; private set; } = [];

    /// <summary>Every packet the server sent to this peer so far, in order.</summary>
    public List<SeenPacket> Received { get; } = new();

    /// <summary>A cleartext Initial with <paramref name="frames"/>, zero-padded to <paramref name="size"/> bytes.</summary>
    public byte[] Initial(ulong pn, UdpSeeds.FrameWriter frames, int size = Packet.MinInitialSize, byte[]? token = null)
    {
        token ??= Token;
        var d = new byte[Math.Max(size, 2000)];
        int pos = Packet.WriteHeader(d, PacketType.Initial, 0, pn);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(pos), ClientId);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(pos + 8), (ushort)token.Length);
        token.CopyTo(d.AsSpan(pos + 10));
        pos += 10 + token.Length;
        var w = new SpanWriter(d.AsSpan(pos, d.Length - pos - Packet.TrailerSize));
        if (!frames(ref w))
        {
            throw new InvalidOperationException("frames do not fit");
        }

        int end = Math.Max(pos + w.Position, size - Packet.TrailerSize);
        return d[..Packet.Seal(d, end)];
    }

    /// <summary>A cleartext Data packet to the server's connection <paramref name="serverId"/>.</summary>
    public static byte[] Data(ulong serverId, ulong pn, UdpSeeds.FrameWriter frames) => UdpSeeds.Data(serverId, pn, frames);

    /// <summary>Sends an Initial without a token and keeps the Retry's token.</summary>
    public void GetRetry()
    {
        Send(Initial(0, (ref SpanWriter w) => FrameCodec.TryWriteHello(ref w, FrameType.Hello, CleartextHello), token: []));
        var retry = Assert.Single(Drain());
        Assert.Equal(PacketType.Retry, retry.Type);
    }

    public void Send(byte[] datagram) => Server.HandleDatagram(Now, datagram, Address);

    /// <summary>Runs the server's timers at <see cref="Now"/>.</summary>
    public void Tick() => Server.HandleTimeouts(Now);

    /// <summary>What the server sends now (recorded in <see cref="Received"/> too).</summary>
    public List<SeenPacket> Drain()
    {
        var list = new List<SeenPacket>();
        int n;
        while ((n = Server.PollTransmit(Now, _buffer, out var to)) > 0)
        {
            if (to != Address)
            {
                continue; // another client's
            }

            var seen = Decode(_buffer.AsSpan(0, n));
            if (seen.Type == PacketType.Retry)
            {
                Assert.Equal(PacketError.None, Packet.TryParse(_buffer.AsSpan(0, n), out var p));
                Token = p.Token.ToArray();
            }

            list.Add(seen);
        }

        Received.AddRange(list);
        return list;
    }

    /// <summary>Events of every server connection.</summary>
    public List<(Connection Connection, ConnectionEvent Event)> Events()
    {
        var list = new List<(Connection, ConnectionEvent)>();
        while (Server.TryPollEvent(out var c, out var ev))
        {
            list.Add((c, ev));
        }

        return list;
    }

    public static SeenPacket Decode(ReadOnlySpan<byte> datagram)
    {
        Assert.Equal(PacketError.None, Packet.TryParse(datagram, out var p));
        Assert.False(p.Protected, "RawUdpPeer reads cleartext sessions only");
        var frames = new List<SeenFrame>();
        var scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
        var r = new SpanReader(p.Payload);
        while (!r.End)
        {
            Assert.True(FrameCodec.TryRead(ref r, scratch, out var f), "the server sent a malformed frame");
            var acked = new List<ulong>();
            if (f.Type == FrameType.Ack)
            {
                for (int i = 0; i < f.AckRangeCount; i++)
                {
                    for (ulong pn = scratch[i].Smallest; pn <= scratch[i].Largest; pn++)
                    {
                        acked.Add(pn);
                    }
                }
            }

            frames.Add(new SeenFrame(f.Type, f.Code, f.Text ?? string.Empty, acked.ToArray(), f.Offset, f.ConnectionId));
        }

        return new SeenPacket(p.Type, p.PacketNumber, datagram.Length, frames);
    }
}
