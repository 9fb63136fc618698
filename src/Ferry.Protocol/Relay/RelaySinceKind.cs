namespace Ferry.Protocol.Relay;

/// <summary>Where a reader starts: live (only new messages), from a sequence number, or from a time.</summary>
public enum RelaySinceKind : byte
{
    /// <summary>Only messages stored after registration.</summary>
    Live = 0,
    /// <summary>From a server sequence number (clamped to what is retained).</summary>
    Sequence = 1,
    /// <summary>From the first message stored at or after a Unix time in milliseconds.</summary>
    Time = 2,
}
