using System.Buffers.Binary;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Udp;

/// <summary>
/// An attacker that passes address validation and then stalls: for each handshake it sends an Initial, takes the
/// Retry, sends the Initial again with the token (a real encrypting HELLO, so the server does its key exchange and
/// answers SERVER_HELLO) and never sends REQUEST. Pure: it talks to a <see cref="ServerEndpoint"/> directly.
/// </summary>
internal sealed class StalledHandshakeFlood
{
    private readonly byte[] _hello;
    private readonly Random _rng;
    private readonly int _addresses;
    private readonly byte[] _buffer = new byte[Packet.MaxMaxDatagram];

    /// <param name="addresses">How many distinct source addresses the attacker cycles through (one port each).</param>
    public StalledHandshakeFlood(int seed, int addresses)
    {
        _rng = new Random(seed);
        _addresses = addresses;
        _hello = RealHello();
    }

    /// <summary>Handshakes started so far.</summary>
    public int Sent { get; private set; }

    /// <summary>Whether <paramref name="peer"/> is one of the attacker's addresses.</summary>
    public static bool IsAttacker(in PeerAddress peer) => peer.Address >> 64 == 0xA77AC4;

    /// <summary>
    /// Runs one validated-but-stalled handshake against <paramref name="server"/> at <paramref name="now"/>. Every other
    /// datagram the server wants to send meanwhile goes to <paramref name="forward"/> (the legitimate client's link).
    /// </summary>
    public void One(ServerEndpoint server, long now, Action<PeerAddress, byte[]>? forward = null)
    {
        var peer = new PeerAddress(((UInt128)0xA77AC4 << 64) | (uint)(Sent % _addresses), 5000);
        ulong scid = (ulong)_rng.NextInt64(1, long.MaxValue);
        Sent++;
        server.HandleDatagram(now, Initial(scid, []), peer);
        byte[]? token = null;
        int n;
        while ((n = server.PollTransmit(now, _buffer, out var to)) > 0)
        {
            if (to == peer && Packet.TryParse(_buffer.AsSpan(0, n), out var p) == PacketError.None && p.Type == PacketType.Retry)
            {
                token = p.Token.ToArray();
            }
            else if (!IsAttacker(to))
            {
                forward?.Invoke(to, _buffer[..n]);
            }
        }

        Assert.NotNull(token);
        server.HandleDatagram(now, Initial(scid, token), peer);
    }

    /// <summary>Discards what the server sends to the attacker; forwards the rest.</summary>
    public void Drain(ServerEndpoint server, long now, Action<PeerAddress, byte[]>? forward = null)
    {
        int n;
        while ((n = server.PollTransmit(now, _buffer, out var to)) > 0)
        {
            if (!IsAttacker(to))
            {
                forward?.Invoke(to, _buffer[..n]);
            }
        }
    }

    private byte[] Initial(ulong scid, ReadOnlySpan<byte> token)
    {
        var buffer = new byte[Packet.MinInitialSize];
        int pos = Packet.WriteHeader(buffer, PacketType.Initial, 0, 0);
        BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(pos), scid);
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(pos + 8), (ushort)token.Length);
        token.CopyTo(buffer.AsSpan(pos + 10));
        var w = new SpanWriter(buffer.AsSpan(pos + 10 + token.Length, buffer.Length - pos - 10 - token.Length - Packet.TrailerSize));
        Assert.True(FrameCodec.TryWriteHello(ref w, FrameType.Hello, _hello));
        return buffer[..Packet.Seal(buffer, buffer.Length - Packet.TrailerSize)];
    }

    /// <summary>The HELLO body of a real encrypting client (reused for every handshake: the server cannot tell).</summary>
    private static byte[] RealHello()
    {
        var client = Connection.CreateClient(new ConnectionConfig(), 1, TransferOp.Get, "x", 0, 0, null, 0);
        var buffer = new byte[Packet.MaxMaxDatagram];
        int n = client.PollTransmit(0, buffer);
        Assert.Equal(PacketError.None, Packet.TryParse(buffer.AsSpan(0, n), out var p));
        var r = new SpanReader(p.Payload);
        var scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
        while (FrameCodec.TryRead(ref r, scratch, out var f))
        {
            if (f.Type == FrameType.Hello)
            {
                return f.Data.ToArray();
            }
        }

        throw new InvalidOperationException("the client's first Initial carries no HELLO");
    }
}
