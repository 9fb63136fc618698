using System.Net;

namespace Ferry.Protocol.Relay;

/// <summary>One registered client on the server: identity, writer deduplication state and (for readers) delivery state.</summary>
internal sealed class RelayServerSession
{
    public RelayServerSession(ulong id, RelayRegistration registration, IPEndPoint endPoint, long now)
    {
        Id = id;
        ClientId = registration.ClientId;
        Name = registration.Name;
        IsReader = registration.Read;
        IsWriter = registration.Write;
        EndPoint = endPoint;
        LastHeard = now;
        AcceptedBelow = registration.WriterNext;
        StoredBelow = registration.WriterNext;
        DelayMicros = registration.DelayMillis * 1000L;
    }

    public ulong Id { get; }

    public ulong ClientId { get; }

    public string Name { get; }

    public bool IsReader { get; }

    public bool IsWriter { get; }

    /// <summary>Where replies go; follows the client when its address changes (the 64-bit random session id is the proof).</summary>
    public IPEndPoint EndPoint { get; set; }

    public long LastHeard { get; set; }

    public bool Removed { get; set; }

    /// <summary>The REGISTERED answer, repeated for a retransmitted REGISTER.</summary>
    public RelayRegisteredInfo? Info { get; set; }

    // Writer: lines below AcceptedBelow were handed to the store, lines below StoredBelow are durable.
    public long AcceptedBelow { get; set; }

    public long StoredBelow { get; set; }

    /// <summary>Lines that arrived ahead of a missing one, bounded by <see cref="RelayServerOptions.WriterReorderLimit"/>.</summary>
    public Dictionary<long, string> Early { get; } = new();

    public bool PostAckQueued { get; set; }

    // Reader.
    public ReaderSendState? Reader { get; set; }

    public bool InSendQueue { get; set; }

    public long DelayMicros { get; }

    /// <summary>Largest DELIVER for this reader: what it asked for, capped by <see cref="RelayServerOptions.MaxDeliverDatagram"/>.</summary>
    public int MaxDeliver { get; set; } = RelayWire.MaxDatagram;

    /// <summary>For a batching reader: the newest sequence released to it so far.</summary>
    public long ReleasedUpTo { get; set; }

    public long NextBatchAt { get; set; } = long.MaxValue;
}
