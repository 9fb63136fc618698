using Ferry.Files;
using Ferry.Hosting;
using Ferry.Protocol.Common;
using Ferry.Protocol.Tcp;
using Ferry.Timing;

namespace Ferry.Tcp;

/// <summary>
/// One GET or PUT on the server: the control connection that opened it, the data connections that joined it,
/// and the file (a <see cref="ReadableFile"/> to send, or an <see cref="IncomingFile"/> to receive). The control
/// connection drives the session's life; when it ends, every data connection is closed.
/// </summary>
internal sealed partial class TcpServerSession : IDisposable
{
    private readonly TcpTransferListener _listener;
    private readonly Lock _sync = new();
    private readonly Dictionary<int, TcpConnection> _streams = new();
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _token;
    private readonly TaskCompletionSource<TcpSendCoordinator> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _startedAt;
    private readonly int _chunkSize;
    private readonly TcpOpenRequest _open;

    // The rate limit in force (the client's request under the server's caps), shared by the session's streams: its
    // sending (GET, jobs down) or its reading (PUT, jobs up; TCP's flow control then holds the client to it).
    private readonly TokenBucket _rate;
    private readonly RateShare? _rateShare;
    private TcpPeerException? _failure;
    private int _nextSlot;
    private long _uncheckpointed;
    private int _disposed;

    private TcpServerSession(TcpTransferListener listener, TcpConnection control, TcpOpenRequest open, TransferRequest request, TcpSessionId id, CancellationToken serverStopping)
    {
        Request = request;
        _open = open;
        _listener = listener;
        _startedAt = listener.Context.Clock.NowMicros;
        Control = control;
        Id = id;
        Operation = open.Operation;
        Path = open.Path;
        BlockSize = listener.Settings.BlockSize;
        GrantedStreams = (int)Math.Clamp(open.RequestedStreams, 1u, (uint)Math.Max(1, listener.Context.Options.MaxStreams));
        _chunkSize = ChunkSizeFor(GrantedStreams, BlockSize);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
        _token = _cts.Token;
        _rate = new TokenBucket(listener.Context.Options.Time, 0);
        if (open.Operation is TcpOperation.Get or TcpOperation.Put or TcpOperation.JobPut or TcpOperation.JobGet)
        {
            var rate = _rate;
            _rateShare = listener.Context.Rates.Join(open.RateLimit ?? 0, limit => rate.SetRate(limit / 8));
            _rate.SetRate(_rateShare.Limit / 8);
        }
    }

    public TcpSessionId Id { get; }

    public TcpOperation Operation { get; }

    public string Path { get; }

    public int BlockSize { get; }

    public int GrantedStreams { get; }

    public long FileSize { get; private set; }

    public TcpConnection Control { get; }

    /// <summary>GET: the file being served.</summary>
    public ReadableFile? Source { get; private set; }

    /// <summary>LIST: the encoded listing, sent as GET sends <see cref="Source"/>.</summary>
    public HeldListing? HeldListing { get; private set; }

    private byte[]? Listing => HeldListing?.Bytes;

    private bool Sends => Operation is TcpOperation.Get or TcpOperation.List or TcpOperation.JobGet;

    /// <summary>PUT: the file being received.</summary>
    public IncomingFile? Incoming { get; private set; }

    /// <summary>True once every byte has crossed: the idle rule no longer applies (hashing and committing may take a while).</summary>
    public bool DataComplete => Sends
        ? _started.Task.IsCompletedSuccessfully && _started.Task.Result.Completion.IsCompleted
        : Incoming is { } f ? f.File.IsComplete : _jobSink is { } sink && sink.DataComplete;

    /// <summary>Time since the session began (for its log lines).</summary>
    private TimeSpan Elapsed => TimeSpan.FromMicroseconds(_listener.Context.Clock.NowMicros - _startedAt);

    /// <summary>The most recent read or send on any of the session's connections (the server clock's microseconds).</summary>
    public long LastActivity
    {
        get
        {
            long last = Control.LastActivity;
            lock (_sync)
            {
                foreach (var c in _streams.Values)
                {
                    last = Math.Max(last, c.LastActivity);
                }
            }

            return last;
        }
    }

    /// <summary>The request as the transfer service took it (its log lines name the session by it).</summary>
    public TransferRequest Request { get; }

    /// <summary>
    /// Opens the file for <paramref name="open"/>; file engine refusals propagate as <see cref="FileEngineException"/>.
    /// </summary>
    public static TcpServerSession Create(TcpTransferListener listener, TcpConnection control, TcpOpenRequest open, TransferRequest request, TcpSessionId id, CancellationToken serverStopping)
    {
        var session = new TcpServerSession(listener, control, open, request, id, serverStopping);
        var transfers = listener.Context.Transfers;
        try
        {
            if (open.Operation is TcpOperation.JobPut or TcpOperation.JobGet)
            {
                // The manifest follows the OPEN: files are looked at entry by entry when it has arrived.
                session.FileSize = 0;
            }
            else if (open.Operation == TcpOperation.List)
            {
                session.HeldListing = transfers.List(request, recursive: (open.Size & 1) != 0);
                session.FileSize = session.HeldListing.Bytes.Length;
            }
            else if (open.Operation == TcpOperation.Get)
            {
                session.Source = transfers.OpenDownload(request);
                session.FileSize = session.Source.Length;
            }
            else if (open.Operation == TcpOperation.MakeDirectory)
            {
                // An empty upload on the wire; the directory is made when the client's HASH of no bytes arrives.
                session.FileSize = 0;
            }
            else
            {
                FileIdentity? identity = open.Source is { } v ? new FileIdentity(v.Size, v.MtimeUnixMs) : null;
                session.Incoming = transfers.BeginUpload(request, open.Size, identity, open.UploadKey, _ => new Takeover(session), open.Mode);
                session.FileSize = open.Size;
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }

        return session;
    }

    /// <summary>Runs the control side of the session to its end; throws what should be reported to the client.</summary>
    public async Task RunAsync()
    {
        var ct = _token;
        try
        {
            if (Operation is TcpOperation.JobPut or TcpOperation.JobGet)
            {
                await RunJobAsync(ct).ConfigureAwait(false);
            }
            else if (Sends)
            {
                await RunGetAsync(ct).ConfigureAwait(false);
            }
            else if (Operation == TcpOperation.MakeDirectory)
            {
                await RunMakeDirectoryAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await RunPutAsync(ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or TcpPeerException && _failure is not null)
        {
            // A data connection or the watchdog failed the session; that is what the client must hear.
            throw _failure;
        }
    }

    /// <summary>Attaches a data connection as stream <paramref name="index"/> and serves it until it ends.</summary>
    public async Task RunStreamAsync(TcpConnection connection, int index)
    {
        int slot;
        lock (_sync)
        {
            if (_disposed != 0)
            {
                connection.Dispose();
                return;
            }

            // A reconnecting client may join an index whose old connection the server has not seen die yet.
            if (_streams.TryGetValue(index, out var old))
            {
                old.Abort();
            }

            if (Operation == TcpOperation.MakeDirectory)
            {
                // MKDIR moves no bytes: a data connection has nothing to do.
                connection.Dispose();
                return;
            }

            _streams[index] = connection;
            slot = _nextSlot++;
        }

        var ct = _token;
        try
        {
            if (Sends)
            {
                var coordinator = await _started.Task.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    await TcpStreamSender.RunAsync(
                        connection, index, slot, coordinator, SendSource(), _chunkSize, _listener.Counters, static (_, _) => { }, _listener.Settings.Hooks, ct, _rate).ConfigureAwait(false);
                }
                catch (Exception e) when (e is TcpPeerException or IOException or OperationCanceledException)
                {
                    int requeued = coordinator.Release(slot);
                    if (!ct.IsCancellationRequested && !coordinator.Completion.IsCompleted)
                    {
                        _listener.Counters.StreamLost();
                        _listener.Context.Info("tcp", $"session {Id}: stream {index} lost ({e.Message}); {requeued} block(s) back to the pool");
                    }

                    if (e is IOException io)
                    {
                        // Network failures arrive as TcpPeerException: an IOException is the file (it shrank, the disk failed).
                        Fail(new TcpPeerException(io is FileEngineException fe ? TcpErrors.FromFile(fe.Code) : TcpErrorCode.Io, io.Message));
                    }

                    await ReportViolationAsync(connection, index, e).ConfigureAwait(false);
                }
            }
            else
            {
                try
                {
                    if (_jobSink is { } sink)
                    {
                        await TcpStreamReceiver.RunAsync(
                            connection, index, FileSize, (offset, data) => sink.Write(offset, data, ct), BlockSize, _chunkSize, TcpStreamReceiver.WritePieceFor(GrantedStreams, _chunkSize),
                            _listener.Counters, static _ => { }, ct, _rate).ConfigureAwait(false);
                    }
                    else
                    {
                        await TcpStreamReceiver.RunAsync(connection, index, Incoming!.File, BlockSize, _chunkSize, TcpStreamReceiver.WritePieceFor(GrantedStreams, _chunkSize), _listener.Counters, OnWritten, ct, _rate).ConfigureAwait(false);
                    }
                }
                catch (FileEngineException fe)
                {
                    Fail(new TcpPeerException(TcpErrors.FromFile(fe.Code), fe.Message));
                }
                catch (Exception e) when (e is TcpPeerException or OperationCanceledException or ObjectDisposedException)
                {
                    if (!ct.IsCancellationRequested && !DataComplete)
                    {
                        _listener.Counters.StreamLost();
                        _listener.Context.Info("tcp", $"session {Id}: stream {index} lost ({e.Message})");
                    }

                    await ReportViolationAsync(connection, index, e).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            lock (_sync)
            {
                if (_streams.TryGetValue(index, out var current) && current == connection)
                {
                    _streams.Remove(index);
                }
            }

            connection.Dispose();
        }
    }

    /// <summary>Ends the session with <paramref name="failure"/> (first failure wins); every connection closes.</summary>
    public void Fail(TcpPeerException failure)
    {
        Interlocked.CompareExchange(ref _failure, failure, null);
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session already ended.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _cts.Cancel();
        _rateShare?.Dispose();
        List<TcpConnection> streams;
        lock (_sync)
        {
            streams = _streams.Values.ToList();
            _streams.Clear();
        }

        foreach (var s in streams)
        {
            s.Abort();
        }

        // Not committed: IncomingFile keeps what was received for resume (checkpoint) and releases the path.
        Incoming?.Dispose();
        Source?.Dispose();
        _jobSink?.Dispose();
        _jobSource?.Dispose();
        HeldListing?.Dispose();
        _cts.Dispose();
    }

    /// <summary>
    /// How the upload registry stops this session for a newcomer: the session fails (its client, if still there, hears
    /// why) and the listener disposes it, which keeps the data for resume and releases the path. Not once every byte
    /// is in: the file is being verified and committed.
    /// </summary>
    private sealed class Takeover(TcpServerSession session) : IUploadTakeover
    {
        public TimeSpan Silence => TimeSpan.FromMicroseconds(Math.Max(0, session._listener.Context.Clock.NowMicros - session.LastActivity));

        public bool TryStop(string reason)
        {
            if (session.DataComplete)
            {
                return false;
            }

            session.Fail(new TcpPeerException(TcpErrorCode.Cancelled, reason));
            return true;
        }
    }

    // A peer that broke the protocol on a data connection hears why before the connection closes.
    private async Task ReportViolationAsync(TcpConnection connection, int index, Exception e)
    {
        if (e is TcpPeerException { ConnectionLost: false, FromPeer: false } violation)
        {
            _listener.Context.Info("tcp", $"session {Id}: stream {index}: {violation.Message}");
            await connection.TrySendErrorAsync(violation.Code, violation.Message, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }
    }

    internal static int ChunkSizeFor(int streams, int blockSize) =>
        Math.Min(blockSize, Math.Clamp((8 << 20) / Math.Max(1, streams), 64 << 10, 1 << 20));

    private async Task RunGetAsync(CancellationToken ct)
    {
        var version = Source is { } source ? new TcpFileVersion(source.Identity.Size, source.Identity.MtimeUnixMs) : new TcpFileVersion(FileSize, 0);
        await SendAcceptAsync(version, new RangeSet(), ct).ConfigureAwait(false);
        var hashTask = Listing is { } listing
            ? Task.FromResult(System.Security.Cryptography.SHA256.HashData(listing))
            : TcpFileHasher.StartAsync(Source!.Handle, FileSize, Path, ct);
        try
        {
            var have = await ReadHaveAsync(ct).ConfigureAwait(false);

            var coordinator = new TcpSendCoordinator(new BlockScheduler(FileSize, BlockSize, have));
            _started.TrySetResult(coordinator);
            _listener.Context.Transfers.Started(Request, FileSize, $"{have.TotalLength} already at the client, session {Id}, {GrantedStreams} stream(s)");

            // Read the client's DONE (or ERROR) concurrently with hashing, so a client that gives up is noticed.
            var doneTask = Control.ReadFrameAsync(ct).AsTask();
            var first = await Task.WhenAny(hashTask, doneTask).ConfigureAwait(false);
            if (first == doneTask)
            {
                await doneTask.ConfigureAwait(false);   // throws the client's ERROR or the lost connection
                throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, "DONE before HASH");
            }

            byte[] hash = await hashTask.ConfigureAwait(false);
            var frame = new byte[TcpSmallFrames.HashFrameLength];
            TcpSmallFrames.WriteHash(frame, hash);
            await Control.SendAsync(frame, ct).ConfigureAwait(false);

            var (doneHeader, donePayload) = await doneTask.ConfigureAwait(false);
            System.Buffers.ArrayPool<byte>.Shared.Return(donePayload);
            if (doneHeader.Type != TcpFrameType.Done)
            {
                throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{doneHeader.Type} where DONE expected");
            }

            _listener.Context.Transfers.Done(Request, $"{coordinator.BytesToSend} bytes sent in {Elapsed.TotalSeconds:F2} s, sha256 {Convert.ToHexStringLower(hash)}");
        }
        catch (FileEngineException fe)
        {
            throw new TcpPeerException(TcpErrors.FromFile(fe.Code), fe.Message);
        }
        finally
        {
            await _cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await hashTask.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        }
    }

    /// <summary>Where a stream's bytes come from: the file (sendfile) or the listing in memory.</summary>
    private TcpSendSource SendSource()
    {
        if (_jobSource is { } job)
        {
            return new TcpSendSource(null, job.Read);
        }

        if (Listing is not { } listing)
        {
            return new TcpSendSource(Source!.Handle, Source.ReadAt);
        }

        return new TcpSendSource(null, (offset, destination) =>
        {
            int n = (int)Math.Clamp(listing.LongLength - offset, 0, destination.Length);
            listing.AsSpan((int)offset, n).CopyTo(destination);
            return n;
        });
    }

    private async Task RunPutAsync(CancellationToken ct)
    {
        var file = Incoming!.File;
        var identity = file.Identity ?? default;
        RangeSet present = new();
        foreach (var r in file.Received)
        {
            present.Add(r.Start, r.End);
        }

        await SendAcceptAsync(new TcpFileVersion(identity.Size, identity.MtimeUnixMs), present, ct).ConfigureAwait(false);
        _listener.Context.Transfers.Started(Request, FileSize, $"{present.TotalLength} already here, session {Id}, {GrantedStreams} stream(s)");

        byte[] hash = await ReadHashAsync(ct).ConfigureAwait(false);

        if (!file.IsComplete)
        {
            throw new TcpPeerException(TcpErrorCode.BadFrame, $"HASH received while {FileSize - file.Received.TotalLength} bytes are still missing");
        }

        try
        {
            file.Commit(hash);
        }
        catch (FileEngineException fe)
        {
            _listener.Context.Transfers.Failed(Request, fe.Message);
            throw new TcpPeerException(TcpErrors.FromFile(fe.Code), fe.Message);
        }

        var done = new byte[TcpSmallFrames.DoneFrameLength];
        TcpSmallFrames.WriteDone(done);
        await Control.SendAsync(done, ct).ConfigureAwait(false);
        _listener.Context.Transfers.Done(Request, $"committed, {FileSize - present.TotalLength} bytes received in {Elapsed.TotalSeconds:F2} s, sha256 {Convert.ToHexStringLower(hash)}");
    }

    /// <summary>MKDIR: an empty PUT on the wire (ACCEPT, HASH of no bytes, DONE) whose commit makes the directory.</summary>
    private async Task RunMakeDirectoryAsync(CancellationToken ct)
    {
        long mtime = _open.Source?.MtimeUnixMs ?? 0;
        await SendAcceptAsync(new TcpFileVersion(0, mtime), new RangeSet(), ct).ConfigureAwait(false);
        var transfers = _listener.Context.Transfers;
        transfers.Started(Request, null, _open.Mode is int mode ? $"mode {Convert.ToString(mode, 8)}, session {Id}" : $"session {Id}");

        byte[] hash = await ReadHashAsync(ct).ConfigureAwait(false);

        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(hash, System.Security.Cryptography.SHA256.HashData(ReadOnlySpan<byte>.Empty)))
        {
            transfers.Failed(Request, "the SHA-256 is not that of no bytes");
            throw new TcpPeerException(TcpErrorCode.Integrity, "MKDIR: the SHA-256 is not that of no bytes");
        }

        try
        {
            transfers.MakeDirectory(Request, _open.Mode, mtime);
        }
        catch (FileEngineException fe)
        {
            throw new TcpPeerException(TcpErrors.FromFile(fe.Code), fe.Message);
        }

        var done = new byte[TcpSmallFrames.DoneFrameLength];
        TcpSmallFrames.WriteDone(done);
        await Control.SendAsync(done, ct).ConfigureAwait(false);
        transfers.Done(Request, "directory ready");
    }

    /// <summary>Reads the client's HAVE (the ranges of the file, or the job, it already holds); anything else breaks the protocol.</summary>
    private async Task<RangeSet> ReadHaveAsync(CancellationToken ct)
    {
        var (header, payload) = await Control.ReadFrameAsync(ct).ConfigureAwait(false);
        try
        {
            if (header.Type != TcpFrameType.Have)
            {
                throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where HAVE expected");
            }

            var status = TcpRangeList.TryRead(payload.AsSpan(0, header.Length), FileSize, out var have);
            return status == TcpDecodeStatus.Ok ? have : throw TcpPeerException.Violation(status, "HAVE");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(payload);
        }
    }

    /// <summary>Reads the client's HASH of what it sent (PUT, MKDIR); anything else breaks the protocol.</summary>
    private async Task<byte[]> ReadHashAsync(CancellationToken ct)
    {
        var (header, payload) = await Control.ReadFrameAsync(ct).ConfigureAwait(false);
        try
        {
            return header.Type == TcpFrameType.Hash
                ? payload.AsSpan(0, TcpWire.HashLength).ToArray()
                : throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where HASH expected");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(payload);
        }
    }

    private async Task SendAcceptAsync(TcpFileVersion version, RangeSet present, CancellationToken ct)
    {
        // The limit in force goes back only to a client that sent one: an older client would not read the field.
        var reply = new TcpAcceptReply(Id, BlockSize, (uint)GrantedStreams, FileSize, version, present) { RateLimit = _open.RateLimit.HasValue ? _rateShare?.Limit ?? 0 : null };
        var frame = new byte[reply.FrameLength];
        reply.Write(frame);
        await Control.SendAsync(frame, ct).ConfigureAwait(false);
    }

    private void OnWritten(long bytes)
    {
        // Periodic durability: a crash loses at most CheckpointBytes of received data, not the whole upload.
        if (Interlocked.Add(ref _uncheckpointed, bytes) >= _listener.Settings.CheckpointBytes)
        {
            Interlocked.Exchange(ref _uncheckpointed, 0);
            Incoming!.File.Checkpoint();
        }
    }
}
