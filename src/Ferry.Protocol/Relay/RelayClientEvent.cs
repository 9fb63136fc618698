namespace Ferry.Protocol.Relay;

/// <summary>An event of a relay client, polled with <see cref="RelayClient.TryPollEvent"/>.</summary>
public sealed record RelayClientEvent(RelayClientEventKind Kind)
{
    public RelayRegisteredInfo? Info { get; init; }

    public RelayRefusal Refusal { get; init; }

    /// <summary>Human-readable reason (refusal text or timeout description).</summary>
    public string Text { get; init; } = string.Empty;

    public long From { get; init; }

    public long To { get; init; }
}
