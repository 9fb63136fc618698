namespace Ferry.Protocol.Relay;

/// <summary>
/// Read side of the message store, as the relay server core sees it. Implementations are synchronous and fast
/// (an indexed SQLite read); the core asks only when a reader needs messages older than its in-memory cache.
/// </summary>
public interface IRelayHistory
{
    /// <summary>Oldest retained sequence; <see cref="LastSeq"/> + 1 when nothing is retained.</summary>
    long FirstSeq { get; }

    /// <summary>Newest stored sequence; 0 when nothing was ever stored.</summary>
    long LastSeq { get; }

    /// <summary>Appends up to <paramref name="maxCount"/> messages with sequence at or above <paramref name="fromSeq"/>, ascending and gap-free.
    /// The first one may be above <paramref name="fromSeq"/> when retention removed older ones.</summary>
    void Read(long fromSeq, int maxCount, List<RelayMessage> into);

    /// <summary>Sequence of the first retained message stored at or after <paramref name="unixMillis"/>; <see cref="LastSeq"/> + 1 if none.</summary>
    long FindFirstAtOrAfter(long unixMillis);
}
