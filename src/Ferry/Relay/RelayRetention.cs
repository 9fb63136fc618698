namespace Ferry.Relay;

/// <summary>How much history the relay keeps. Null means unlimited; the newest message is always kept so sequence numbers continue.</summary>
public sealed record RelayRetention(long? MaxCount, TimeSpan? MaxAge)
{
    public static RelayRetention Unlimited { get; } = new(null, null);
}
