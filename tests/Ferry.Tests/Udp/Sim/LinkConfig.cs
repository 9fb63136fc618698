namespace Ferry.Tests.Udp.Sim;

/// <summary>One direction of a simulated path. Times in microseconds, rates in bits per second.</summary>
public sealed record LinkConfig
{
    public long Delay { get; init; } = 1_000;

    /// <summary>Extra random delay in [0, Jitter): reorders packets when larger than their spacing.</summary>
    public long Jitter { get; init; }

    /// <summary>Bottleneck rate; 0 for infinite.</summary>
    public long RateBps { get; init; }

    /// <summary>Drop-tail queue in packets in front of the bottleneck.</summary>
    public int QueuePackets { get; init; } = 1000;

    public double Loss { get; init; }

    /// <summary>
    /// False (default): random loss happens before the bottleneck (netem-like; lost packets cost no link time).
    /// True: after it, on the wire (a lossy link, as bench/WanEmu does by default): lost packets used link time.
    /// </summary>
    public bool LossAfterQueue { get; init; }

    /// <summary>Gilbert-Elliott burst loss: probability to enter / leave the bad state per packet, and loss while bad.</summary>
    public double BurstEnter { get; init; }

    public double BurstLeave { get; init; } = 0.3;

    public double BurstLoss { get; init; } = 0.9;

    public double Duplicate { get; init; }

    public double Corrupt { get; init; }

    /// <summary>Datagrams larger than this are dropped (the path MTU minus IP/UDP headers).</summary>
    public int Mtu { get; init; } = 65535;

    /// <summary>Periods during which every datagram is lost.</summary>
    public (long Start, long End)[] Blackouts { get; init; } = Array.Empty<(long, long)>();

    public static LinkConfig Clean => new();
}
