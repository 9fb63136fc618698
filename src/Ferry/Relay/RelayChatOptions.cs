using Ferry.Protocol.Relay;

namespace Ferry.Relay;

/// <summary>What <c>ferry chat</c> asks the relay for.</summary>
public sealed class RelayChatOptions
{
    public required string User { get; init; }

    public bool Read { get; init; } = true;

    public bool Write { get; init; } = true;

    /// <summary>Batch interval for reading (0: live).</summary>
    public TimeSpan Delay { get; init; }

    public RelaySinceKind SinceKind { get; init; }

    /// <summary>A sequence number, or Unix milliseconds for <see cref="RelaySinceKind.Time"/>.</summary>
    public long SinceValue { get; init; }

    /// <summary>Messages buffered before the application reads them (the advertised window).</summary>
    public int ReceiveCapacity { get; init; } = 4096;

    /// <summary>How long to wait for the server to answer the registration.</summary>
    public TimeSpan RegisterTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
