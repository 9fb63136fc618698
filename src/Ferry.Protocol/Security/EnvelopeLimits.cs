namespace Ferry.Protocol.Security;

/// <summary>Bounds on what clients can make an envelope server hold or compute (docs/PROTOCOL.md, "Limits").</summary>
public sealed record EnvelopeLimits
{
    /// <summary>Sessions in all.</summary>
    public int MaxSessions { get; init; } = 16384;

    /// <summary>
    /// Half-open sessions from one source address. Established sessions are not limited per address (many clients
    /// may share one, behind NAT): a client that sealed a datagram has shown it receives at its address.
    /// </summary>
    public int MaxHalfOpenPerSource { get; init; } = 16;

    /// <summary>Sessions that answered no sealed datagram yet (half-open); the oldest is evicted past this.</summary>
    public int MaxHalfOpen { get; init; } = 256;

    /// <summary>HELLOs answered per second from one source address (token bucket), with <see cref="HelloBurst"/>.</summary>
    public double HellosPerSecondPerSource { get; init; } = 20;

    public double HelloBurst { get; init; } = 40;

    /// <summary>Sources whose HELLO rate is tracked; past this the table starts over (bounded memory).</summary>
    public int MaxTrackedSources { get; init; } = 8192;

    /// <summary>A session silent this long is forgotten (microseconds).</summary>
    public long IdleMicros { get; init; } = 600_000_000;

    /// <summary>A half-open session is forgotten after this long (microseconds).</summary>
    public long HalfOpenMicros { get; init; } = 10_000_000;
}
