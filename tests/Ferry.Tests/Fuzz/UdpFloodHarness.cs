using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Fuzz;

/// <summary>A ServerEndpoint plus the client half of the handshake, for floods driven packet by packet (no sockets).</summary>
internal sealed class UdpFloodHarness
{
    private readonly byte[] _buffer = new byte[Packet.MaxMaxDatagram];
    private readonly NullDataSink _data = new();
    private ulong _pn = 1;

    public UdpFloodHarness(ConnectionConfig? config = null, int maxConnectionsPerAddress = ServerEndpoint.DefaultMaxConnectionsPerAddress)
    {
        var rng = new Random(17);
        var key = new byte[32];
        rng.NextBytes(key);
        Server = new ServerEndpoint(config ?? new ConnectionConfig(), key, () => (ulong)rng.NextInt64(1, long.MaxValue), maxConnectionsPerAddress: maxConnectionsPerAddress);
    }

    public ServerEndpoint Server { get; }

    public long Now { get; set; } = 1_000_000_000;

    /// <summary>Stateless CLOSE refusals seen by <see cref="Open"/>.</summary>
    public int Refusals { get; private set; }

    /// <summary>Handshakes client <paramref name="clientId"/> from <paramref name="peer"/>; the accepted connection, or null when refused.</summary>
    public Connection? Open(ulong clientId, PeerAddress peer, TransferOp op, long size)
    {
        Drain();
        Server.HandleDatagram(Now, UdpSeeds.Initial(clientId, [], op, "f" + clientId, size), peer);
        int n = Server.PollTransmit(Now, _buffer, out _);
        Assert.Equal(PacketError.None, Packet.TryParse(_buffer.AsSpan(0, n), out var retry));
        Assert.Equal(PacketType.Retry, retry.Type);
        Server.HandleDatagram(Now, UdpSeeds.Initial(clientId, retry.Token.ToArray(), op, "f" + clientId, size), peer);
        foreach (var d in Drain())
        {
            // A refusal is a stateless CLOSE addressed to the client's id.
            if (Packet.TryParse(d, out var p) == PacketError.None && p.Type == PacketType.Data && p.DestinationId == clientId
                && p.Payload.Length > 0 && p.Payload[0] == (byte)FrameType.Close)
            {
                Refusals++;
            }
        }

        Connection? accepted = null;
        while (Server.TryPollEvent(out var c, out var ev))
        {
            if (ev.Kind == ConnectionEventKind.RequestReceived)
            {
                c.Accept(size, 1, op == TransferOp.Get ? _data : null, op == TransferOp.Put ? _data : null, null);
                accepted = c;
            }
        }

        return accepted;
    }

    /// <summary>Sends one Data packet to <paramref name="connection"/> from its peer.</summary>
    public void Send(Connection connection, UdpSeeds.FrameWriter frames) =>
        Server.HandleDatagram(Now, UdpSeeds.Data(connection.LocalId, _pn++, frames), connection.Peer);

    /// <summary>Datagrams the server sends now (at most <paramref name="max"/>).</summary>
    public List<byte[]> Drain(int max = 1024)
    {
        var list = new List<byte[]>();
        int n;
        while (list.Count < max && (n = Server.PollTransmit(Now, _buffer, out _)) > 0)
        {
            list.Add(_buffer[..n]);
        }

        return list;
    }

    /// <summary>The last Closed event of <paramref name="connection"/>, polling every event.</summary>
    public ConnectionEvent? ClosedEvent(Connection connection)
    {
        ConnectionEvent? closed = null;
        while (Server.TryPollEvent(out var c, out var ev))
        {
            if (c == connection && ev.Kind == ConnectionEventKind.Closed)
            {
                closed = ev;
            }
        }

        return closed;
    }

    public static bool WriteScatteredData(ref SpanWriter w, ref long offset, ReadOnlySpan<byte> oneByte)
    {
        // One-byte DATA frames two bytes apart: every frame leaves a hole before the next.
        while (w.Remaining >= FrameCodec.DataOverhead(offset, 1) + 1)
        {
            FrameCodec.WriteDataHeader(ref w, offset, 1);
            w.WriteBytes(oneByte);
            offset += 2;
        }

        return true;
    }
}
