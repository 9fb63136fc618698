namespace Ferry.Protocol.Relay;

/// <summary>The fields of a REGISTERED datagram (the session id travels in the header).</summary>
public sealed record RelayRegisteredInfo
{
    public required ulong ClientId { get; init; }

    /// <summary>First sequence this reader will receive (0 for a write-only session).</summary>
    public long ReaderStart { get; init; }

    /// <summary>Oldest retained sequence (LastSeq + 1 when nothing is retained).</summary>
    public long FirstSeq { get; init; }

    /// <summary>Newest stored sequence (0 when nothing was ever stored).</summary>
    public long LastSeq { get; init; }

    public int MaxTextBytes { get; init; } = RelayWire.MaxTextBytes;

    public uint IdleTimeoutMillis { get; init; }

    public uint KeepaliveMillis { get; init; }

    /// <summary>Largest DELIVER the server will send this session (an optional trailing field: absent means <see cref="RelayWire.MaxDatagram"/>).</summary>
    public int MaxDeliverDatagram { get; init; } = RelayWire.MaxDatagram;
}
