namespace Ferry.Protocol.Relay;

/// <summary>What a relay client asks for and its tunables. Times are in microseconds.</summary>
public sealed class RelayClientOptions
{
    /// <summary>Random id, chosen once per client process (the caller's RNG: the core has none). Writer deduplication key.</summary>
    public required ulong ClientId { get; init; }

    public required string Name { get; init; }

    public bool Read { get; init; } = true;

    public bool Write { get; init; } = true;

    public RelaySinceKind SinceKind { get; init; }

    public long SinceValue { get; init; }

    public uint DelayMillis { get; init; }

    /// <summary>Reserved for authentication.</summary>
    public byte[] Token { get; init; } = [];

    /// <summary>Messages the reader buffers before the application takes them; the advertised receive window.</summary>
    public int ReceiveCapacity { get; init; } = 4096;

    /// <summary>
    /// Largest datagram this client accepts (REGISTER's max datagram): the server may pack DELIVERs up to it (capped by its own
    /// limit). Ask for more than <see cref="RelayWire.MaxDatagram"/> only where the path cannot fragment (the same host).
    /// </summary>
    public int MaxDatagram { get; init; } = RelayWire.MaxDatagram;

    /// <summary>Most lines in flight (sent, not yet acknowledged).</summary>
    public int WriterWindow { get; init; } = 128;

    /// <summary>Most lines queued by <see cref="RelayClient.Submit"/> and not yet acknowledged; beyond it Submit says QueueFull.</summary>
    public int SubmitQueueLimit { get; init; } = 8192;

    /// <summary>Give up when no REGISTERED or REFUSED arrives within this time.</summary>
    public long RegisterTimeoutMicros { get; init; } = 10_000_000;

    public long RegisterRetryMicros { get; init; } = 250_000;

    /// <summary>Acknowledge at the latest this long after an unacknowledged DELIVER.</summary>
    public long AckDelayMicros { get; init; } = 5_000;

    /// <summary>Acknowledge immediately after this many in-order DELIVERs.</summary>
    public int AckEveryPackets { get; init; } = 4;

    public long InitialRtoMicros { get; init; } = 200_000;

    public long MinRtoMicros { get; init; } = 200_000;

    public long MaxRtoMicros { get; init; } = 2_000_000;
}
