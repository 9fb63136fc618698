using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ferry.Files;
using Ferry.Protocol.Listing;
using Ferry.Protocol.Tcp;
using Ferry.Security;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>
/// tcp:// client: one control connection plus up to --streams data connections per transfer. Downloads are written
/// at their offsets into a resumable <see cref="PartialFile"/>; uploads are read positionally from the source while
/// a separate thread hashes it. Both ends compare whole-file SHA-256 before the file takes its final name.
/// Every connection runs TLS 1.3 pinned to the server's key unless <see cref="ClientOptions.Insecure"/>; OPEN carries
/// the access token.
/// </summary>
public sealed class TcpTransferClient : ITransferClient
{
    /// <summary>Port used when the URL names none.</summary>
    public const int DefaultPort = 7701;

    private readonly TcpClientSettings _settings;

    public TcpTransferClient()
        : this(new TcpClientSettings())
    {
    }

    /// <param name="time">The clock of the idle watchdog and the connections' activity stamps.</param>
    public TcpTransferClient(TimeProvider time)
        : this(new TcpClientSettings { Time = time })
    {
    }

    internal TcpTransferClient(TcpClientSettings settings)
    {
        _settings = settings;
    }

    public string Scheme => "tcp";

    /// <summary>Moves a job's many files in one session (JOB_PUT, JOB_GET); see <see cref="TcpJobCarrier"/>.</summary>
    public Jobs.IJobCarrier? JobCarrier => new TcpJobCarrier(_settings);

    public Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
        GetAsync(TcpOperation.Get, TransferClients.RemotePath(remote), 0, remote, localPath, options, progress, cancellationToken);

    public Task<IReadOnlyList<ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken) =>
        RemoteListing.FetchAsync(local => GetAsync(TcpOperation.List, TransferClients.ListPath(remote), recursive ? 1 : 0, remote, local, options, new Progress<TransferProgress>(), cancellationToken));

    private async Task<TransferResult> GetAsync(
        TcpOperation op, string path, long flags, Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        uint streams = ValidateStreams(options.Streams);
        DownloadDestination.CheckBeforeConnecting(localPath, options.Overwrite);
        var endPoint = await ResolveAsync(remote, cancellationToken).ConfigureAwait(false);
        progress.Report(new TransferProgress(0, -1) { ConnectingTo = KnownHosts.HostPort(remote.DnsSafeHost, PortOf(remote)) });
        options.Verbose?.Invoke($"tcp: path '{path}' at {KnownHosts.HostPort(remote.DnsSafeHost, PortOf(remote))} ({endPoint}), {options.Streams} streams asked");
        var clock = Stopwatch.StartNew();
        await using var transfer = new TcpClientTransfer(endPoint, _settings, cancellationToken, Tls(remote, options), ClientSecurity.Token(options), options.ConnectTimeout) { Verbose = options.Verbose };
        TcpAcceptReply accept;
        try
        {
            accept = await transfer.StepAsync(() => transfer.OpenAsync(new TcpOpenRequest(op, path, streams, flags, null) { RateLimit = op == TcpOperation.Get ? options.LimitRate : null })).ConfigureAwait(false);
        }
        catch (TransferException e) when (op == TcpOperation.List && e.Code == ExitCode.Failure
            && e.Message.Contains($"({FailureKind.ProtocolViolation})", StringComparison.Ordinal))
        {
            // A server from before LIST refuses the OPEN as malformed (BadFrame): an unknown operation, or for the
            // root an empty path, which makes the frame shorter than it allows.
            throw RemoteListing.Unsupported(e);
        }

        if (op == TcpOperation.List)
        {
            RemoteListing.CheckSize(accept.FileSize);
        }

        PartialFile partial;
        try
        {
            partial = PartialFile.ForDownload(localPath, accept.FileSize, new FileIdentity(accept.Version.Size, accept.Version.MtimeUnixMs), options.Overwrite);
        }
        catch (FileEngineException e)
        {
            await transfer.Control!.TrySendErrorAsync(TcpErrorCode.Cancelled, "client cannot write the destination", TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            throw new TransferException(TcpErrors.LocalExitCode(e.Code), e.Message, e);
        }

        using (partial)
        {
            try
            {
                return await DownloadAsync(transfer, accept, partial, progress, options.Timeout ?? _settings.IdleTimeout, clock, op == TcpOperation.Get ? options.LimitRate : 0).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await transfer.Control!.TrySendErrorAsync(TcpErrorCode.Cancelled, "client interrupted", TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
                throw;
            }
        }
    }

    public async Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        string path = TransferClients.RemotePath(remote);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        uint streams = ValidateStreams(options.Streams);
        var endPoint = await ResolveAsync(remote, cancellationToken).ConfigureAwait(false);
        progress.Report(new TransferProgress(0, -1) { ConnectingTo = KnownHosts.HostPort(remote.DnsSafeHost, PortOf(remote)) });
        options.Verbose?.Invoke($"tcp: path '{path}' at {KnownHosts.HostPort(remote.DnsSafeHost, PortOf(remote))} ({endPoint}), {options.Streams} streams asked");
        var clock = Stopwatch.StartNew();

        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        long size;
        FileIdentity identity;
        int? mode;
        try
        {
            handle = File.OpenHandle(localPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            size = RandomAccess.GetLength(handle);
            identity = new FileIdentity(size, new DateTimeOffset(File.GetLastWriteTimeUtc(handle)).ToUnixTimeMilliseconds());
            mode = NativeFile.PermissionBits(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot read '{localPath}': {e.Message}", e);
        }

        using (handle)
        {
            await using var transfer = new TcpClientTransfer(endPoint, _settings, cancellationToken, Tls(remote, options), ClientSecurity.Token(options), options.ConnectTimeout) { Verbose = options.Verbose };
            try
            {
                return await UploadAsync(transfer, path, streams, handle, size, identity, mode, options.UploadKey, progress, options.Timeout ?? _settings.IdleTimeout, clock, options.LimitRate).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                if (transfer.Control is { } control)
                {
                    await control.TrySendErrorAsync(TcpErrorCode.Cancelled, "client interrupted", TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
                }

                throw;
            }
        }
    }

    /// <summary>
    /// MKDIR: on the wire an upload of an empty file (OPEN, ACCEPT, HASH of nothing, DONE) whose commit on the server
    /// creates the directory with <paramref name="mode"/> and <paramref name="mtimeUnixMs"/> (the OPEN's version mtime).
    /// </summary>
    public async Task MakeDirectoryAsync(RemoteUrl remote, int mode, long mtimeUnixMs, ClientOptions options, CancellationToken cancellationToken)
    {
        if (mode is < 0 or > TcpWire.MaxMode)
        {
            throw new TransferException(ExitCode.Usage, $"directory mode {mode} is outside 0..0777");
        }

        string path = TransferClients.RemotePath(remote);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        var endPoint = await ResolveAsync(remote, cancellationToken).ConfigureAwait(false);
        options.Verbose?.Invoke($"tcp: mkdir '{path}' at {KnownHosts.HostPort(remote.DnsSafeHost, PortOf(remote))} ({endPoint})");
        await using var transfer = new TcpClientTransfer(endPoint, _settings, cancellationToken, Tls(remote, options), ClientSecurity.Token(options), options.ConnectTimeout) { Verbose = options.Verbose };
        try
        {
            await transfer.StepAsync(() => transfer.OpenAsync(new TcpOpenRequest(TcpOperation.MakeDirectory, path, 1, 0, new TcpFileVersion(0, mtimeUnixMs)) { Mode = mode })).ConfigureAwait(false);
        }
        catch (TransferException e) when (e.Code == ExitCode.Failure && e.Message.Contains($"({FailureKind.ProtocolViolation})", StringComparison.Ordinal))
        {
            // A server from before MKDIR refuses the OPEN as malformed (BadFrame): an unknown operation.
            throw Failures.MakeDirectoryUnsupported(e);
        }

        var answerTask = ReadAnswerAsync(transfer.Control!, transfer.Token);
        _ = transfer.GuardAsync(answerTask);
        var frame = new byte[TcpSmallFrames.HashFrameLength];
        TcpSmallFrames.WriteHash(frame, System.Security.Cryptography.SHA256.HashData(ReadOnlySpan<byte>.Empty));
        await transfer.StepAsync(() => transfer.SendControlAsync(frame)).ConfigureAwait(false);
        await transfer.StepAsync(() => answerTask).ConfigureAwait(false);
    }

    /// <summary>How many data connections to open: no more than the server granted, nor than there are blocks to move.</summary>
    internal static int StreamsToOpen(uint granted, long missingBytes, int blockSize, int presentRanges)
    {
        if (missingBytes <= 0)
        {
            return 0;
        }

        long blocks = ((missingBytes + blockSize - 1) / blockSize) + presentRanges;
        return (int)Math.Min(granted, Math.Max(1, blocks));
    }

    /// <param name="limitRate">The client's own rate limit, bit/s (0: none): the streams read no faster (the server, which
    /// was asked for it too, also sends no faster, and may hold a lower cap of its own).</param>
    private async Task<TransferResult> DownloadAsync(
        TcpClientTransfer transfer, TcpAcceptReply accept, PartialFile partial, IProgress<TransferProgress> progress, TimeSpan idle, Stopwatch clock, long limitRate)
    {
        var have = new Ferry.Protocol.Common.RangeSet();
        foreach (var r in partial.Received)
        {
            have.Add(r.Start, r.End);
        }

        var haveFrame = new byte[TcpSmallFrames.HaveFrameLength(have)];
        TcpSmallFrames.WriteHave(haveFrame, have);
        await transfer.StepAsync(() => transfer.SendControlAsync(haveFrame)).ConfigureAwait(false);

        long size = accept.FileSize;
        long resumed = have.TotalLength;
        progress.Report(new TransferProgress(resumed, size, resumed));
        var complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (partial.IsComplete)
        {
            complete.TrySetResult();
        }

        // The server sends HASH whenever its own hashing is done: read it concurrently with the data, and keep
        // listening after it (the server may still refuse, e.g. when its file fails while blocks are moving).
        var hashSource = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        int doneSent = 0;
        var controlTask = ReadControlAsync(transfer.Control!, hashSource, () => Volatile.Read(ref doneSent) != 0, transfer.Token);
        _ = transfer.GuardAsync(controlTask);

        long written = 0;
        long uncheckpointed = 0;
        void OnWritten(long n)
        {
            long total = Interlocked.Add(ref written, n);
            progress.Report(new TransferProgress(Math.Min(size, resumed + total), size, resumed));
            if (Interlocked.Add(ref uncheckpointed, n) >= _settings.CheckpointBytes)
            {
                Interlocked.Exchange(ref uncheckpointed, 0);
                partial.Checkpoint();
            }

            if (partial.IsComplete)
            {
                complete.TrySetResult();
            }
        }

        int count = StreamsToOpen(accept.GrantedStreams, size - resumed, accept.BlockSize, have.Count);
        int chunk = TcpServerSession.ChunkSizeFor(count, accept.BlockSize);
        bool IsDone() => complete.Task.IsCompleted;
        var limiter = limitRate > 0 ? new TokenBucket(_settings.Time, limitRate / 8) : null;
        _ = transfer.RunStreamsAsync(
            count,
            (connection, index, slot, ct) => TcpStreamReceiver.RunAsync(
                connection, index, partial, accept.BlockSize, chunk, TcpStreamReceiver.WritePieceFor(count, chunk), transfer.Counters, OnWritten, ct, limiter),
            static _ => { },
            IsDone);
        _ = transfer.WatchIdleAsync(idle, IsDone);

        await transfer.WaitAsync(complete.Task).ConfigureAwait(false);
        byte[] hash = await transfer.WaitAsync(hashSource.Task).ConfigureAwait(false);
        try
        {
            partial.Commit(hash);
        }
        catch (FileEngineException e) when (e.Code == FileErrorCode.Integrity)
        {
            await transfer.Control!.TrySendErrorAsync(TcpErrorCode.Integrity, e.Message, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            throw new TransferException(ExitCode.Integrity, e.Message, e);
        }
        catch (FileEngineException e)
        {
            await transfer.Control!.TrySendErrorAsync(TcpErrorCode.Cancelled, "client could not store the file", TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            throw new TransferException(TcpErrors.LocalExitCode(e.Code), e.Message, e);
        }

        var done = new byte[TcpSmallFrames.DoneFrameLength];
        TcpSmallFrames.WriteDone(done);
        Volatile.Write(ref doneSent, 1);   // from here on, the server closing the control connection is the normal end
        await transfer.StepAsync(() => transfer.SendControlAsync(done)).ConfigureAwait(false);
        progress.Report(new TransferProgress(size, size, resumed));

        // Let the server close first: it then knows every stream ended because the session did, not because a
        // connection dropped (its ACK bookkeeping on other streams may still be catching up).
        try
        {
            await controlTask.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or TcpPeerException or OperationCanceledException)
        {
            // The file is committed either way.
        }

        await transfer.DisposeAsync().ConfigureAwait(false);
        return Result(size, clock, hash, resumed, transfer, count, accept.BlockSize, requeued: 0, received: true, RateLimits.Min2(limitRate, accept.RateLimit ?? 0));
    }

    private async Task<TransferResult> UploadAsync(
        TcpClientTransfer transfer, string path, uint streams, Microsoft.Win32.SafeHandles.SafeFileHandle handle, long size,
        FileIdentity identity, int? mode, byte[]? uploadKey, IProgress<TransferProgress> progress, TimeSpan idle, Stopwatch clock, long limitRate)
    {
        var hashTask = TcpFileHasher.StartAsync(handle, size, path, transfer.Token);
        _ = transfer.GuardAsync(hashTask);
        var accept = await transfer.StepAsync(() => transfer.OpenAsync(new TcpOpenRequest(TcpOperation.Put, path, streams, size, new TcpFileVersion(identity.Size, identity.MtimeUnixMs)) { UploadKey = uploadKey, Mode = mode, RateLimit = limitRate })).ConfigureAwait(false);
        if (accept.FileSize != size)
        {
            throw new TransferException(ExitCode.Failure, $"protocol error: server accepted {accept.FileSize} bytes, {size} offered");
        }

        var coordinator = new TcpSendCoordinator(new BlockScheduler(size, accept.BlockSize, accept.Present));
        long resumed = coordinator.BytesPresent;
        progress.Report(new TransferProgress(resumed, size, resumed));

        // The server only speaks on the control connection at the end (DONE) or to refuse (ERROR): listen throughout.
        var answerTask = ReadAnswerAsync(transfer.Control!, transfer.Token);
        _ = transfer.GuardAsync(answerTask);

        long acked = 0;
        void OnAcked(long offset, int n) => progress.Report(new TransferProgress(resumed + Interlocked.Add(ref acked, n), size, resumed));

        int count = StreamsToOpen(accept.GrantedStreams, coordinator.BytesToSend, accept.BlockSize, accept.Present.Count);
        int chunk = TcpServerSession.ChunkSizeFor(count, accept.BlockSize);
        bool IsDone() => coordinator.Completion.IsCompleted;
        TcpStreamSender.ReadAt read = (offset, destination) => ReadableFile.ReadFully(handle, offset, destination, path);
        // The limit in force: the client's own under the server's cap (which the server also holds by reading no faster).
        long rateLimit = RateLimits.Min2(limitRate, accept.RateLimit ?? 0);
        var limiter = rateLimit > 0 ? new TokenBucket(_settings.Time, rateLimit / 8) : null;
        _ = transfer.RunStreamsAsync(
            count,
            (connection, index, slot, ct) => TcpStreamSender.RunAsync(connection, index, slot, coordinator, new TcpSendSource(handle, read), chunk, transfer.Counters, OnAcked, _settings.Hooks, ct, limiter),
            slot => coordinator.Release(slot),
            IsDone);
        _ = transfer.WatchIdleAsync(idle, IsDone);

        await transfer.WaitAsync(coordinator.Completion).ConfigureAwait(false);
        byte[] hash = await transfer.WaitAsync(hashTask).ConfigureAwait(false);
        var frame = new byte[TcpSmallFrames.HashFrameLength];
        TcpSmallFrames.WriteHash(frame, hash);
        await transfer.StepAsync(() => transfer.SendControlAsync(frame)).ConfigureAwait(false);
        await transfer.WaitAsync(answerTask).ConfigureAwait(false);
        progress.Report(new TransferProgress(size, size, resumed));
        await transfer.DisposeAsync().ConfigureAwait(false);
        return Result(size, clock, hash, resumed, transfer, count, accept.BlockSize, coordinator.ItemsRequeued, received: false, rateLimit);

    }

    private static TransferResult Result(long size, Stopwatch clock, byte[] hash, long resumed, TcpClientTransfer transfer, int streams, int blockSize, long requeued, bool received, long rateLimit)
    {
        transfer.Verbose?.Invoke($"tcp: {streams} streams, bytes per stream: " +
            string.Join(", ", Enumerable.Range(0, streams).Select(i => $"#{i} {transfer.Counters.StreamBytes(i)}")) +
            $"; {transfer.Counters.StreamsLost} streams lost, {transfer.Counters.Reconnects} reconnects, {requeued} blocks sent again, {resumed} bytes resumed");
        var stats = new Dictionary<string, long>
        {
            ["streams"] = streams,
            ["block_size"] = blockSize,
            [received ? "bytes_received" : "bytes_sent"] = received ? transfer.Counters.DataBytesReceived : transfer.Counters.DataBytesSent,
            ["streams_lost"] = transfer.Counters.StreamsLost,
            ["reconnects"] = transfer.Counters.Reconnects,
            ["blocks_requeued"] = requeued,
        };
        if (rateLimit > 0)
        {
            stats["rate_limit"] = rateLimit; // bit/s in force: the client's own, or the server's cap
        }

        return new(size, clock.Elapsed, Convert.ToHexStringLower(hash)) { ResumedBytes = resumed, Stats = stats };
    }

    /// <summary>
    /// Reads the download's control connection: the server's HASH (into <paramref name="hash"/>), then nothing but
    /// an ERROR (thrown, failing the transfer) or the close that follows our DONE (returns).
    /// </summary>
    private static async Task ReadControlAsync(TcpConnection control, TaskCompletionSource<byte[]> hash, Func<bool> doneSent, CancellationToken ct)
    {
        var (header, payload) = await control.ReadFrameAsync(ct).ConfigureAwait(false);
        try
        {
            if (header.Type != TcpFrameType.Hash)
            {
                throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where HASH expected");
            }

            hash.TrySetResult(payload.AsSpan(0, TcpWire.HashLength).ToArray());
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(payload);
        }

        try
        {
            (header, payload) = await control.ReadFrameAsync(ct).ConfigureAwait(false);
            System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} after HASH");
        }
        catch (TcpPeerException e) when (e.ConnectionLost && doneSent())
        {
            // The server closed after our DONE: the normal end.
        }
    }

    private static async Task ReadAnswerAsync(TcpConnection control, CancellationToken ct)
    {
        var (header, payload) = await control.ReadFrameAsync(ct).ConfigureAwait(false);
        System.Buffers.ArrayPool<byte>.Shared.Return(payload);
        if (header.Type != TcpFrameType.Done)
        {
            throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where DONE expected");
        }
    }

    internal static uint ValidateStreams(int streams)
    {
        if (streams < 1)
        {
            throw new TransferException(ExitCode.Usage, $"--streams must be at least 1 (got {streams})");
        }

        return (uint)streams;
    }

    internal static int PortOf(Uri remote) => remote.IsDefaultPort || remote.Port <= 0 ? DefaultPort : remote.Port;

    // Null for --insecure (cleartext); otherwise TLS pinned to the key known for host:port as the user named them.
    internal static TcpClientTls? Tls(Uri remote, ClientOptions options) =>
        options.Insecure ? null : new TcpClientTls(options, remote.DnsSafeHost, PortOf(remote));

    internal static async Task<EndPoint> ResolveAsync(Uri remote, CancellationToken ct)
    {
        int port = PortOf(remote);
        string host = remote.DnsSafeHost;
        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            var pick = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            return pick is null
                ? throw new TransferException(ExitCode.Usage, $"'{host}' has no address")
                : new IPEndPoint(pick, port);
        }
        catch (SocketException e)
        {
            throw new TransferException(ExitCode.Usage, $"cannot resolve host '{host}': {TcpConnection.Describe(e)}", e);
        }
    }
}
