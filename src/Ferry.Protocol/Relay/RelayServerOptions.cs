namespace Ferry.Protocol.Relay;

/// <summary>Tunables of the relay server core. Times are in microseconds like every core input.</summary>
public sealed record RelayServerOptions
{
    /// <summary>Recent messages kept in memory (rounded up to a power of two); older ones come from the store.</summary>
    public int CacheSize { get; init; } = 65536;

    /// <summary>Initial limit of unacknowledged messages per reader (the window then grows per ACK and halves on loss).</summary>
    public int ReaderWindow { get; init; } = 256;

    /// <summary>Largest per-reader window; the reader's advertised receive window bounds it as well.</summary>
    public int MaxReaderWindow { get; init; } = 4096;

    /// <summary>
    /// Largest DELIVER sent to a reader that asked for large datagrams (REGISTER's max datagram; readers on the same host do).
    /// <see cref="RelayServer.PollTransmit"/>'s buffer must hold this many bytes. 1,200 turns large DELIVERs off.
    /// </summary>
    public int MaxDeliverDatagram { get; init; } = 16_384;

    /// <summary>Messages read from the store per history read (one shared, aligned block).</summary>
    public int HistoryReadSize { get; init; } = 256;

    /// <summary>History blocks kept in memory, shared by every reader behind the cache (least recently used dropped first).</summary>
    public int HistoryBlocks { get; init; } = 64;

    /// <summary>Most out-of-order lines held per writer while an earlier one is missing.</summary>
    public int WriterReorderLimit { get; init; } = 1024;

    /// <summary>A session that sends nothing for this long is closed and its name freed.</summary>
    public long IdleTimeoutMicros { get; init; } = 15_000_000;

    /// <summary>How often clients should send something when idle (told to them in REGISTERED).</summary>
    public long KeepaliveMicros { get; init; } = 3_000_000;

    public int MaxSessions { get; init; } = 10_000;

    /// <summary>Decides whether a registration's token allows what it asks for (read, write); returns why not, or null.</summary>
    public Func<RelayRegistration, string?>? Authorize { get; init; }

    public long InitialRtoMicros { get; init; } = 200_000;

    public long MinRtoMicros { get; init; } = 200_000;

    public long MaxRtoMicros { get; init; } = 2_000_000;

    /// <summary>Most queued replies that belong to no session (REFUSED, UNKNOWN_SESSION); more are dropped, so junk cannot grow a queue.</summary>
    public int MaxPendingReplies { get; init; } = 1024;
}
