namespace Ferry.Transfers;

/// <summary>
/// Progress of one transfer: bytes at the receiver so far out of the total (total is -1 while unknown), of which
/// <paramref name="ResumedBytes"/> were already there before this run (resume) and did not travel now.
/// </summary>
public readonly record struct TransferProgress(long BytesDone, long TotalBytes, long ResumedBytes = 0)
{
    /// <summary>"host:port" while the client waits for the server's first answer (its handshake); null once it answered.</summary>
    public string? ConnectingTo { get; init; }
}

/// <summary>Outcome of a completed, verified transfer.</summary>
public sealed record TransferResult(long Bytes, TimeSpan Elapsed, string Sha256Hex)
{
    /// <summary>Bytes that were already present and skipped thanks to resume.</summary>
    public long ResumedBytes { get; init; }

    /// <summary>Protocol-specific counters for --json output (retransmissions, streams, ...).</summary>
    public IReadOnlyDictionary<string, long> Stats { get; init; } = new Dictionary<string, long>();
}

/// <summary>Client-side options shared by every scheme; a scheme ignores what it does not use.</summary>
public sealed class ClientOptions
{
    /// <summary>Parallel streams (tcp://).</summary>
    public int Streams { get; set; } = 4;

    /// <summary>TFTP blksize option (tftp://); null for the protocol default.</summary>
    public int? BlockSize { get; set; }

    /// <summary>TFTP windowsize option (tftp://).</summary>
    public int? WindowSize { get; set; }

    /// <summary>Chunk size in bytes (zmq://).</summary>
    public int ChunkSize { get; set; } = 1 << 20;

    /// <summary>How long a server that went silent mid-transfer is waited for (udp://, tcp://, zmq://), or the retransmission timeout (tftp://).</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>How long a server that never answered the handshake is waited for (<c>--connect-timeout</c>; every scheme).</summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>The default <see cref="ConnectTimeout"/>: a live server answers within a few round trips.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Called with lines that describe the connection (handshake, path, final statistics) for <c>--verbose</c>; null: quiet.</summary>
    public Action<string>? Verbose { get; set; }

    /// <summary>Maximum UDP datagram payload (udp://); default fits a 1500-byte MTU over IPv4 and IPv6.</summary>
    public int? MaxDatagram { get; set; }

    /// <summary>Congestion controller name (udp://): "bbr" (default) or "newreno".</summary>
    public string? CongestionControl { get; set; }

    /// <summary>
    /// Rate limit in bit/s (<c>--limit-rate</c>; udp://, tcp://; 0: none): the file data of one transfer or job, whoever
    /// sends it (a download's limit is asked of the server, which applies it).
    /// </summary>
    public long LimitRate { get; set; }

    /// <summary>Allow replacing an existing local destination file on download.</summary>
    public bool Overwrite { get; set; }

    /// <summary>Access token sent to the server (<c>--token</c> or FERRY_TOKEN); null: anonymous.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// Expected server key fingerprint (<c>--server-key</c>); null: trust on first use through <see cref="KnownHosts"/>.
    /// zmq:// takes the server's CURVE public key (Z85) here instead.
    /// </summary>
    public string? ServerKey { get; set; }

    /// <summary>
    /// Upload (udp://, tcp://): the client's upload key for this source and destination (<see cref="UploadKeys"/>), sent
    /// with the request so that a re-run after an interruption takes its own upload over at once; null: none.
    /// </summary>
    public byte[]? UploadKey { get; set; }

    /// <summary>Ask for a cleartext session (<c>--insecure</c>); the server must allow it.</summary>
    public bool Insecure { get; set; }

    /// <summary>Where server keys are pinned; null: <see cref="Security.KnownHosts.Default"/>.</summary>
    public Security.KnownHosts? KnownHosts { get; set; }

    /// <summary>Called once when a server's key was pinned for the first time (the CLI tells the user).</summary>
    public Action<string>? Notice { get; set; }

    /// <summary>A copy whose per-transfer settings (<see cref="UploadKey"/>, <see cref="Overwrite"/>) can be set apart from this one's.</summary>
    public ClientOptions Clone() => (ClientOptions)MemberwiseClone();
}

/// <summary>One URL scheme's client: downloads and uploads one file.</summary>
public interface ITransferClient
{
    /// <summary>The URL scheme this client handles, e.g. "udp".</summary>
    string Scheme { get; }

    /// <summary>
    /// Moves the files of a job in one session when the scheme can (null: the job runs one transfer per file). A carrier
    /// whose server is too old throws a <see cref="TransferException"/> with <see cref="TransferException.CarrierUnsupported"/>
    /// before it moved anything: the job then falls back to one transfer per file.
    /// </summary>
    Jobs.IJobCarrier? JobCarrier => null;

    /// <summary>Whether running the same command after an interruption continues where it stopped.</summary>
    bool ResumesAfterInterruption => true;

    /// <summary>Downloads <paramref name="remote"/> into <paramref name="localPath"/> (written atomically, verified).</summary>
    Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken);

    /// <summary>Uploads <paramref name="localPath"/> to <paramref name="remote"/>; returns once the server confirmed the verified file.</summary>
    Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the directory <paramref name="remote"/> on the server (with its parents, inside the root) if it is
    /// missing, and gives it <paramref name="mode"/> (0..0o777) and <paramref name="mtimeUnixMs"/>; a scheme that cannot
    /// throws a usage error.
    /// </summary>
    Task MakeDirectoryAsync(RemoteUrl remote, int mode, long mtimeUnixMs, ClientOptions options, CancellationToken cancellationToken) =>
        throw new TransferException(ExitCode.Usage, $"{Scheme}:// cannot create directories");

    /// <summary>Lists <paramref name="remote"/> (a directory, or one file); a scheme that cannot list throws a usage error.</summary>
    Task<IReadOnlyList<Protocol.Listing.ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken) =>
        throw new TransferException(ExitCode.Usage, $"{Scheme}:// cannot list directories (use udp:// or tcp://)");
}
