using Ferry.Protocol.Relay;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A registered RelayClient (reader and writer, with lines submitted) fed mutated server datagrams: DELIVER,
/// POST_ACK, PONG, UNKNOWN_SESSION, REGISTERED, REFUSED. Fake clock; transmits, timers and messages drained.
/// </summary>
internal sealed class RelayClientTarget : IFuzzInstance
{
    private const ulong Session = 0x5E5510;
    private readonly RelayClient _client;
    private readonly byte[] _buffer = new byte[RelayWire.MaxDatagram];
    private long _now = 5_000_000_000 + 3;

    public RelayClientTarget()
    {
        _client = new RelayClient(new RelayClientOptions { ClientId = RelaySeeds.ClientId, Name = "alice", ReceiveCapacity = 256 }, _now);
        _client.PollTransmit(_buffer, _now);
        _client.HandleDatagram(RelaySeeds.All(Session)[1], _now);
        if (_client.State != RelayClientState.Ready)
        {
            throw new InvalidOperationException("not registered");
        }

        for (int i = 0; i < 5; i++)
        {
            _client.Submit("line " + i, out _);
        }
    }

    public static FuzzTarget Target { get; } = new("relay.client", () => new RelayClientTarget(), 1 << 20, 2 * RelayWire.MaxDatagram, ResetEvery: 500);

    public IReadOnlyList<byte[]> Seeds { get; } = RelaySeeds.All(Session);

    public bool Run(byte[] input, Random rng)
    {
        var datagram = RelaySeeds.FixUp(input, rng, Session);
        bool ok = RelayWire.TryOpen(datagram, out _, out _, out _) == RelayDatagramStatus.Ok;
        _client.HandleDatagram(datagram, _now);
        if (rng.Next(8) == 0)
        {
            _client.Submit("more", out _);
        }

        for (int i = 0; i < 64 && _client.PollTransmit(_buffer, _now) > 0; i++)
        {
        }

        for (int i = 0; i < 1024 && _client.TryReadMessage(out _); i++)
        {
        }

        for (int i = 0; _client.TryPollEvent(out _); i++)
        {
            if (i > 16)
            {
                throw new FuzzPropertyException("more than 16 events from one datagram");
            }
        }

        _now += rng.Next(100_000);
        if (_client.NextWakeup() <= _now)
        {
            _client.HandleTimeout(_now);
        }

        return ok;
    }
}
