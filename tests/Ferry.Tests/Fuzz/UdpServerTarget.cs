using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A ServerEndpoint with two live, validated connections (one PUT the server receives, one GET it sends) fed
/// mutated datagrams aimed at them, with a fake clock; after each input it drains transmits, runs timers, polls
/// events and sweeps. Every loop is bounded; the event queue must not grow past a fixed count.
/// </summary>
internal sealed class UdpServerTarget : IFuzzInstance
{
    private const long FileSize = 256 << 10;
    private const int MaxEventsPerInput = 64;
    private readonly ServerEndpoint _server;
    private readonly byte[] _buffer = new byte[Packet.MaxMaxDatagram];
    private readonly NullDataSink _data = new();
    private readonly ulong[] _ids = new ulong[2];
    private readonly PeerAddress[] _peers = [new PeerAddress(0x7F000001, 4000), new PeerAddress(0x7F000002, 4001)];
    private long _now = 1_000_000_000 + 12_345;
    private ulong _pn = 100;

    public UdpServerTarget()
    {
        var rng = new Random(7);
        var key = new byte[32];
        rng.NextBytes(key);
        _server = new ServerEndpoint(new ConnectionConfig(), key, () => (ulong)rng.NextInt64(1, long.MaxValue));
        Open(0, 1001, TransferOp.Put);
        Open(1, 1002, TransferOp.Get);
        Seeds = [.. UdpSeeds.AllFrames(_ids[0], FileSize), .. UdpSeeds.AllFrames(_ids[1], FileSize), UdpSeeds.Initial(1001, [], TransferOp.Put, "x", FileSize)];
    }

    public static FuzzTarget Target { get; } = new("udp.server", () => new UdpServerTarget(), 1 << 20, Packet.MaxMaxDatagram, ResetEvery: 500);

    public IReadOnlyList<byte[]> Seeds { get; }

    public bool Run(byte[] input, Random rng)
    {
        int which = rng.Next(2);
        var datagram = UdpSeeds.FixUp(input, rng, _ids[which], ref _pn);
        bool ok = Packet.TryParse(datagram, out _) == PacketError.None;
        _server.HandleDatagram(_now, datagram, _peers[which]);
        Drive(rng.Next(50_000));
        return ok;
    }

    private void Open(int index, ulong clientId, TransferOp op)
    {
        var peer = _peers[index];
        _server.HandleDatagram(_now, UdpSeeds.Initial(clientId, [], op, "f" + index, FileSize), peer);
        int n = _server.PollTransmit(_now, _buffer, out _);
        if (Packet.TryParse(_buffer.AsSpan(0, n), out var retry) != PacketError.None || retry.Type != PacketType.Retry)
        {
            throw new InvalidOperationException("no Retry");
        }

        var token = retry.Token.ToArray();
        _server.HandleDatagram(_now, UdpSeeds.Initial(clientId, token, op, "f" + index, FileSize), peer);
        while (_server.TryPollEvent(out var c, out var ev))
        {
            if (ev.Kind == ConnectionEventKind.RequestReceived)
            {
                c.Accept(FileSize, 1, op == TransferOp.Get ? _data : null, op == TransferOp.Put ? _data : null, null);
                _ids[index] = c.LocalId;
            }
        }

        if (_ids[index] == 0)
        {
            throw new InvalidOperationException("connection not created");
        }
    }

    private void Drive(long advance)
    {
        for (int i = 0; i < 32 && _server.PollTransmit(_now, _buffer, out _) > 0; i++)
        {
        }

        _now += advance;
        if (_server.NextTimeout <= _now)
        {
            _server.HandleTimeouts(_now);
        }

        int events = 0;
        while (_server.TryPollEvent(out var c, out var ev))
        {
            if (++events > MaxEventsPerInput)
            {
                throw new FuzzPropertyException($"more than {MaxEventsPerInput} events from one datagram");
            }

            if (ev.Kind == ConnectionEventKind.DataComplete)
            {
                c.FinishReceive(TransferError.None, "ok");
            }
            else if (ev.Kind == ConnectionEventKind.RequestReceived)
            {
                // As UdpServerListener does, whatever state the packet left the connection in.
                c.Accept(FileSize, 1, ev.Op == TransferOp.Get ? _data : null, ev.Op == TransferOp.Put ? _data : null, null);
            }
        }

        _server.Sweep();
    }
}
