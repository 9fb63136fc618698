using System.Buffers.Binary;
using System.Net;
using Ferry.Protocol.Relay;
using Ferry.Relay;
using Microsoft.Extensions.Time.Testing;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A RelayServer with one registered reader-writer session, fed mutated datagrams aimed at that session (POST, ACK,
/// PING, BYE, REGISTER...) from its own or another address, with a fake clock and an in-memory store that completes
/// every append at once. Transmits are drained (bounded) and timers run after every input.
/// </summary>
internal sealed class RelayServerTarget : IFuzzInstance
{
    private static readonly IPEndPoint[] s_peers = [new(IPAddress.Loopback, 5001), new(IPAddress.Parse("127.0.0.2"), 5002)];
    private readonly InMemoryMessageStore _store = new(new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)));
    private readonly RelayServer _server;
    private readonly byte[] _buffer = new byte[RelayWire.MaxDatagram];
    private readonly List<RelayAppend> _appends = new();
    private readonly List<RelayAppendResult> _results = new();
    private readonly ulong _session;
    private long _now = 4_000_000_000 + 31;

    public RelayServerTarget()
    {
        var ids = new Random(21);
        _server = new RelayServer(new RelayServerOptions(), _store, () => (ulong)ids.NextInt64(1, long.MaxValue));
        _server.HandleDatagram(RelaySeeds.All(0)[0], s_peers[0], _now);
        int n = _server.PollTransmit(_buffer, _now, out _);
        if (n < RelayWire.HeaderLength || _buffer[1] != (byte)RelayPacketType.Registered)
        {
            throw new InvalidOperationException("not registered");
        }

        _session = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(2));
        Seeds = RelaySeeds.All(_session);
    }

    public static FuzzTarget Target { get; } = new("relay.server", () => new RelayServerTarget(), 1 << 20, 2 * RelayWire.MaxDatagram, ResetEvery: 500);

    public IReadOnlyList<byte[]> Seeds { get; }

    public void Dispose() => _store.Dispose();

    public bool Run(byte[] input, Random rng)
    {
        var datagram = RelaySeeds.FixUp(input, rng, _session);
        bool ok = RelayWire.TryOpen(datagram, out _, out _, out _) == RelayDatagramStatus.Ok;
        _server.HandleDatagram(datagram, s_peers[rng.Next(4) == 0 ? 1 : 0], _now);
        if (_server.TakeAppends(_appends) > 0)
        {
            _results.Clear();
            _store.Append(_appends, _results);
            _server.OnAppended(_results, _now);
        }

        for (int i = 0; i < 64 && _server.PollTransmit(_buffer, _now, out _) > 0; i++)
        {
        }

        _now += rng.Next(100_000);
        if (_server.NextWakeup() <= _now)
        {
            _server.HandleTimeout(_now);
        }

        return ok;
    }
}
