using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A client Connection (GET, then receiving) fed mutated server datagrams: Retry, ACCEPT, DATA, DATA_FIN, CLOSE...
/// With a fake clock; transmits, timers and events drained after every input with bounded loops.
/// </summary>
internal sealed class UdpClientTarget : IFuzzInstance
{
    private const ulong LocalId = 0x1122334455667788;
    private readonly Connection _connection;
    private readonly byte[] _buffer = new byte[Packet.MaxMaxDatagram];
    private readonly NullDataSink _sink = new();
    private long _now = 2_000_000_000 + 777;
    private ulong _pn = 1;

    public UdpClientTarget()
    {
        _connection = Connection.CreateClient(new ConnectionConfig { Security = new UdpSecurity { Insecure = true } }, LocalId, TransferOp.Get, "remote/file", 0, 0, null, _now);
        var retry = new byte[64];
        Seeds = [.. UdpSeeds.AllFrames(LocalId, 1 << 20), retry[..Packet.WriteRetry(retry, LocalId, new byte[24])]];
    }

    public static FuzzTarget Target { get; } = new("udp.client", () => new UdpClientTarget(), 1 << 20, Packet.MaxMaxDatagram, ResetEvery: 300);

    public IReadOnlyList<byte[]> Seeds { get; }

    public bool Run(byte[] input, Random rng)
    {
        var datagram = UdpSeeds.FixUp(input, rng, LocalId, ref _pn);
        if (Packet.TryParse(datagram, out var packet) != PacketError.None)
        {
            return false;
        }

        if (packet.DestinationId == LocalId)
        {
            _connection.HandlePacket(_now, packet);
        }

        for (int i = 0; i < 32 && _connection.PollTransmit(_now, _buffer) > 0; i++)
        {
        }

        _now += rng.Next(50_000);
        if (_connection.NextTimeout <= _now)
        {
            _connection.HandleTimeout(_now);
        }

        for (int events = 0; _connection.TryPollEvent(out var ev); events++)
        {
            if (events > 64)
            {
                throw new FuzzPropertyException("more than 64 events from one datagram");
            }

            if (ev.Kind == ConnectionEventKind.Accepted)
            {
                _connection.StartReceiving(_sink, null);
            }
            else if (ev.Kind == ConnectionEventKind.DataComplete)
            {
                _connection.FinishReceive(TransferError.None, "ok");
            }
        }

        return true;
    }
}
