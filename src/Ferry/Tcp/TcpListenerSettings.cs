using Ferry.Protocol.Tcp;

namespace Ferry.Tcp;

/// <summary>Tunables of <see cref="TcpTransferListener"/> that are not command-line options (tests shorten them).</summary>
internal sealed class TcpListenerSettings
{
    /// <summary>Block size offered to clients: a power of two in [4 KiB, 64 MiB].</summary>
    public int BlockSize { get; init; } = TcpWire.DefaultBlockSize;

    /// <summary>A new connection must deliver its preamble and first frame within this time, or it is dropped.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A session whose data is still incomplete is aborted after this long without a byte on any of its connections.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Connections still in their handshake; more are refused at once (a flood cannot exhaust memory).</summary>
    public int MaxHandshaking { get; init; } = 1024;

    /// <summary>Handshaking connections from one address; a single slow or hostile host cannot fill every slot.</summary>
    public int MaxHandshakingPerAddress { get; init; } = 64;

    /// <summary>Sessions open at once.</summary>
    public int MaxSessions { get; init; } = 1024;

    /// <summary>Sessions open at once from one address.</summary>
    public int MaxSessionsPerAddress { get; init; } = 64;

    /// <summary>
    /// Jobs (JOB_PUT, JOB_GET) open at once: each holds its manifest (up to 128 MiB) and up to 256 open files, so the
    /// server bounds their number, whatever the clients send.
    /// </summary>
    public int MaxJobs { get; init; } = 16;

    /// <summary>Jobs open at once from one address.</summary>
    public int MaxJobsPerAddress { get; init; } = 4;

    /// <summary>A received upload is checkpointed (fdatasync + journal) at least every this many bytes.</summary>
    public long CheckpointBytes { get; init; } = 256L << 20;

    public TcpTestHooks? Hooks { get; init; }
}
