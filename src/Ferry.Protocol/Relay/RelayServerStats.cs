namespace Ferry.Protocol.Relay;

/// <summary>Counters of the relay server core (read by the shell for logs, tests and the bench).</summary>
public sealed class RelayServerStats
{
    public long DatagramsReceived { get; internal set; }

    /// <summary>Dropped because the CRC32C did not match.</summary>
    public long DroppedCorrupt { get; internal set; }

    /// <summary>Dropped because of bad length, version, type or body.</summary>
    public long DroppedMalformed { get; internal set; }

    /// <summary>Datagrams naming a session the server does not know.</summary>
    public long UnknownSession { get; internal set; }

    public long Registrations { get; internal set; }

    public long Refusals { get; internal set; }

    public long LinesAccepted { get; internal set; }

    public long LinesStored { get; internal set; }

    /// <summary>POSTed lines that were already accepted (writer retries).</summary>
    public long DuplicateLines { get; internal set; }

    /// <summary>Lines the store reported as already stored (a retry across a restart).</summary>
    public long StoreDuplicates { get; internal set; }

    public long DeliverDatagrams { get; internal set; }

    public long MessagesSent { get; internal set; }

    public long MessagesRetransmitted { get; internal set; }

    /// <summary>History reads (a reader older than the in-memory cache).</summary>
    public long HistoryReads { get; internal set; }

    public long SessionsExpired { get; internal set; }

    /// <summary>Replies dropped because the reply queue was full.</summary>
    public long RepliesDropped { get; internal set; }
}
