namespace Ferry.Protocol.Tftp;

/// <summary>What a TFTP server accepts when negotiating options with a client.</summary>
public sealed record TftpServerPolicy
{
    /// <summary>Largest blksize granted; a larger request is answered with this value (RFC 2348 allows smaller).</summary>
    public int MaxBlockSize { get; init; } = TftpLimits.MaxBlockSize;

    /// <summary>
    /// Largest windowsize granted. It bounds what one ACK can make the server send (one window), so it is the
    /// amplification factor an off-path client can get per datagram it sends; 64 matches RFC 7440's measurements.
    /// </summary>
    public int MaxWindowSize { get; init; } = 64;

    /// <summary>
    /// Largest <c>timeout</c> option (seconds) the server accepts; a larger request is ignored (RFC 2349 allows only
    /// echoing the value or leaving it out) and the default applies. The timeout decides how long a vanished client
    /// holds its session and, for a write, the path: five expiries with doubling capped at 4x, so 15 x timeout
    /// (75 s at 5 s; 150 s at 10 s; it was 63 minutes at the RFC's 255 s).
    /// </summary>
    public int MaxTimeoutSeconds { get; init; } = 10;

    /// <summary>Retransmission timeout used when the client asks for none.</summary>
    public long DefaultTimeoutMicros { get; init; } = TftpLimits.DefaultTimeoutMicros;

    /// <summary>Largest file accepted by a write request that announces its tsize (null: no limit here).</summary>
    public long? MaxWriteSize { get; init; }
}
