namespace Ferry.Protocol.Relay;

/// <summary>The fields of a REGISTER datagram.</summary>
public sealed record RelayRegistration
{
    /// <summary>Random id chosen by the client once per process; stable across re-registrations. Writer deduplication key.</summary>
    public required ulong ClientId { get; init; }

    public required string Name { get; init; }

    public bool Read { get; init; }

    public bool Write { get; init; }

    /// <summary>Room name; must be empty in protocol version 1 (one shared room).</summary>
    public string Room { get; init; } = string.Empty;

    /// <summary>Reserved for authentication; version 1 servers ignore it.</summary>
    public byte[] Token { get; init; } = [];

    public RelaySinceKind SinceKind { get; init; }

    /// <summary>Sequence number or Unix milliseconds, per <see cref="SinceKind"/>.</summary>
    public long SinceValue { get; init; }

    /// <summary>Batch interval for this reader (0: deliver immediately).</summary>
    public uint DelayMillis { get; init; }

    /// <summary>First writer sequence not yet acknowledged to this client (0 on a first registration).</summary>
    public long WriterNext { get; init; }

    /// <summary>
    /// Largest DELIVER datagram this reader accepts (an optional trailing field: absent means <see cref="RelayWire.MaxDatagram"/>).
    /// Clamped to [<see cref="RelayWire.MaxDatagram"/>, <see cref="RelayWire.MaxLargeDatagram"/>].
    /// </summary>
    public int MaxDatagram { get; init; } = RelayWire.MaxDatagram;
}
