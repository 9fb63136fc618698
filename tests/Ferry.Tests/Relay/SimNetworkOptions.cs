namespace Ferry.Tests.Relay;

/// <summary>Impairments of the simulated network (probabilities per datagram, times in microseconds).</summary>
internal sealed record SimNetworkOptions
{
    public double Loss { get; init; }

    public double Duplicate { get; init; }

    public double Corrupt { get; init; }

    public long LatencyMicros { get; init; } = 1_000;

    /// <summary>Extra random delay in [0, Jitter): reorders datagrams.</summary>
    public long JitterMicros { get; init; }
}
