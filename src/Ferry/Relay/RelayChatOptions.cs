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

    /// <summary>Access token (<c>--token</c> / FERRY_TOKEN).</summary>
    public string? Token { get; init; }

    /// <summary>Expected server key fingerprint (<c>--server-key</c>); null: known_hosts, pinned on first use.</summary>
    public string? ServerKey { get; init; }

    /// <summary>No encryption (<c>--insecure</c>); the server must allow it.</summary>
    public bool Insecure { get; init; }

    /// <summary>Where server keys are pinned; null: the default known_hosts.</summary>
    public Ferry.Security.KnownHosts? KnownHosts { get; init; }

    /// <summary>Told when a server key is pinned for the first time.</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>
    /// Largest DELIVER datagram to ask the server for. Null: <see cref="RelayWire.MaxLargeDatagram"/> when the server is on this
    /// host (a loopback address: nothing can fragment), else <see cref="RelayWire.MaxDatagram"/>.
    /// </summary>
    public int? MaxDatagram { get; init; }

    /// <summary>How long to wait for the server to answer the registration.</summary>
    public TimeSpan RegisterTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
