using System.Diagnostics;
using System.Threading.Channels;
using Ferry.Files;
using Ferry.Jobs;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Security;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>
/// tcp://'s job carrier: a whole job of many files in one session (one control connection, its data streams, one
/// handshake): OPEN (JOB_PUT or JOB_GET) and the manifest, the server's STATUS per entry, then the accepted files laid
/// end to end in one byte space moved by the ordinary block machinery, so small files travel packed in blocks and no
/// file costs a round trip. Per file: FILE_HASH / FILE_ABORT from the sender, FILE_RESULT from the receiver.
/// A server older than jobs refuses the OPEN: the carrier then throws a <see cref="TransferException"/> with
/// <see cref="TransferException.CarrierUnsupported"/> before anything moved.
/// </summary>
public sealed class TcpJobCarrier : IJobCarrier
{
    private readonly TcpClientSettings _settings;

    public TcpJobCarrier()
        : this(new TcpClientSettings())
    {
    }

    internal TcpJobCarrier(TcpClientSettings settings)
    {
        _settings = settings;
    }

    public Task UploadAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, CancellationToken cancellationToken) =>
        RunAsync(server, entries, options, observer, put: true, cancellationToken);

    public Task DownloadAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, CancellationToken cancellationToken) =>
        RunAsync(server, entries, options, observer, put: false, cancellationToken);

    private async Task RunAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, bool put, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        JobEntries.CheckForOneSession(entries, "tcp:// carries in one session");

        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        uint streams = TcpTransferClient.ValidateStreams(options.Streams);
        var endPoint = await TcpTransferClient.ResolveAsync(server, cancellationToken).ConfigureAwait(false);
        options.Verbose?.Invoke($"tcp: job of {entries.Count} entries ({(put ? "upload" : "download")}) at {KnownHosts.HostPort(server.DnsSafeHost, TcpTransferClient.PortOf(server))} ({endPoint}), {options.Streams} streams asked");
        await using var transfer = new TcpClientTransfer(endPoint, _settings, cancellationToken, TcpTransferClient.Tls(server, options), ClientSecurity.Token(options), options.ConnectTimeout) { Verbose = options.Verbose };
        var wire = entries.Select(e => new TcpJobEntry(
            e.Kind == JobEntryKind.File ? TcpJobEntry.FileType : TcpJobEntry.DirectoryType, e.Mode & TcpWire.MaxMode, e.Kind == JobEntryKind.File ? e.Size : 0, e.MtimeUnixMs, e.RemotePath)).ToList();
        List<TcpEntryStatus> statuses;
        TcpAcceptReply accept;
        try
        {
            (statuses, accept) = await transfer.StepAsync(() => transfer.OpenJobAsync(new TcpOpenRequest(put ? TcpOperation.JobPut : TcpOperation.JobGet, string.Empty, streams, entries.Count, null) { RateLimit = options.LimitRate }, wire)).ConfigureAwait(false);
        }
        catch (TransferException e) when (e.InnerException is TcpPeerException { FromPeer: true, Code: TcpErrorCode.BadFrame } || e.Message.Contains($"({FailureKind.ProtocolViolation})", StringComparison.Ordinal))
        {
            throw new TransferException(e.Code, $"the server does not take a job of many files in one session ({e.Message})", e) { CarrierUnsupported = true };
        }

        var clock = Stopwatch.StartNew();
        var sizes = new long[entries.Count];
        var accepted = new List<int>();
        for (int i = 0; i < entries.Count; i++)
        {
            var s = statuses[i];
            if (!s.Accepted)
            {
                observer.EntryFailed(i, TcpErrors.FromWire((TcpErrorCode)s.Code), s.Text);
                continue;
            }

            accepted.Add(i);
            if (entries[i].Kind == JobEntryKind.File)
            {
                sizes[i] = put ? entries[i].Size : s.Size;
            }
        }

        var layout = new JobLayout(sizes);
        if (accept.FileSize != layout.TotalSize)
        {
            throw new TransferException(ExitCode.Failure, $"protocol error: the server's job has {accept.FileSize} bytes, its accepted files {layout.TotalSize}");
        }

        var job = new Job(transfer, entries, statuses, accepted, layout, accept, observer, clock, options.Timeout ?? _settings.IdleTimeout);
        // The job's rate limit, shared by its streams: sending, the client's own under the server's cap; receiving, the
        // client's own (the server holds its cap by sending no faster).
        long rateLimit = put ? RateLimits.Min2(options.LimitRate, accept.RateLimit ?? 0) : options.LimitRate;
        var limiter = rateLimit > 0 ? new TokenBucket(_settings.Time, rateLimit / 8) : null;
        if (accept.RateLimit is > 0 and var inForce)
        {
            options.Verbose?.Invoke($"tcp: job rate limit {RateLimits.Format(RateLimits.Min2(options.LimitRate, inForce))}");
        }

        try
        {
            if (put)
            {
                await UploadAsync(job, limiter).ConfigureAwait(false);
            }
            else
            {
                await DownloadAsync(job, options.Overwrite, limiter).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await transfer.Control!.TrySendErrorAsync(TcpErrorCode.Cancelled, "client interrupted", TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
            throw;
        }
        finally
        {
            job.Output.Writer.TryComplete();
        }
    }

    private async Task UploadAsync(Job job, TokenBucket? limiter)
    {
        var (transfer, entries, layout, accept) = (job.Transfer, job.Entries, job.Layout, job.Accept);
        var files = job.Accepted.Where(i => entries[i].Kind == JobEntryKind.File).ToList();
        var hashes = new byte[entries.Count][];
        var resumed = new long[entries.Count];
        foreach (int i in files)
        {
            var (start, end) = layout.RangeOf(i);
            resumed[i] = accept.Present.Overlaps(start, end) ? CountIn(accept.Present, start, end) : 0;
            if (resumed[i] > 0)
            {
                job.Observer.EntryProgress(i, resumed[i], resumed[i]);
            }
        }

        using var source = new JobSource(
            layout,
            i =>
            {
                var handle = File.OpenHandle(entries[i].LocalPath, FileMode.Open, FileAccess.Read, FileShare.Read);
                return new JobSourceFile(handle, RandomAccess.GetLength(handle), handle);
            },
            (i, kind, message) => job.Output.Writer.TryWrite(TcpJobFrames.WriteOutcome(TcpFrameType.FileAbort, new TcpFileOutcome(i, (ushort)TcpErrors.ToWire(kind), message))));
        var coordinator = new TcpSendCoordinator(new BlockScheduler(layout.TotalSize, accept.BlockSize, accept.Present));
        var progress = new Progress(job, resumed); // acknowledged items never overlap: per-file sums are exact
        var writer = job.WriteControlAsync();
        _ = transfer.GuardAsync(writer);
        var hasher = source.RunHasherAsync(files, (i, hash) =>
        {
            hashes[i] = hash;
            return job.Output.Writer.WriteAsync(TcpJobFrames.WriteFileHash(i, hash), transfer.Token).AsTask();
        }, transfer.Token);
        _ = transfer.GuardAsync(hasher);

        // FILE_RESULT per accepted entry, then DONE.
        var reader = ReadResultsAsync(job, i => (layout.Size(i), hashes[i], resumed[i]));
        _ = transfer.GuardAsync(reader);

        int count = TcpTransferClient.StreamsToOpen(accept.GrantedStreams, coordinator.BytesToSend, accept.BlockSize, accept.Present.Count);
        int chunk = TcpServerSession.ChunkSizeFor(count, accept.BlockSize);
        bool IsDone() => coordinator.Completion.IsCompleted;
        _ = transfer.RunStreamsAsync(
            count,
            (connection, index, slot, ct) => TcpStreamSender.RunAsync(connection, index, slot, coordinator, new TcpSendSource(null, source.Read), chunk, transfer.Counters, progress.Add, _settings.Hooks, ct, limiter),
            slot => coordinator.Release(slot),
            IsDone);
        _ = transfer.WatchIdleAsync(job.Idle, IsDone);

        await transfer.WaitAsync(reader).ConfigureAwait(false);
        transfer.Verbose?.Invoke($"tcp: job sent, {coordinator.BytesToSend} bytes over {count} streams, {coordinator.BytesPresent} bytes resumed, {coordinator.ItemsRequeued} blocks sent again");
        await transfer.DisposeAsync().ConfigureAwait(false);
    }

    private async Task DownloadAsync(Job job, bool overwrite, TokenBucket? limiter)
    {
        var (transfer, entries, layout, accept) = (job.Transfer, job.Entries, job.Layout, job.Accept);
        var files = job.Accepted.Where(i => entries[i].Kind == JobEntryKind.File).ToList();
        var have = new RangeSet();
        var resumed = new long[entries.Count];
        foreach (int i in files)
        {
            long size = layout.Size(i);
            if (size == 0)
            {
                continue;
            }

            long start = layout.Start(i);
            foreach (var r in PartialFile.PeekDownload(entries[i].LocalPath, size, Identity(job, i), overwrite))
            {
                have.Add(start + r.Start, start + Math.Min(size, r.End));
                resumed[i] += Math.Min(size, r.End) - r.Start;
            }

            if (resumed[i] > 0)
            {
                job.Observer.EntryProgress(i, resumed[i], resumed[i]);
            }
        }

        var haveFrame = new byte[TcpSmallFrames.HaveFrameLength(have)];
        TcpSmallFrames.WriteHave(haveFrame, have);
        await transfer.StepAsync(() => transfer.SendControlAsync(haveFrame)).ConfigureAwait(false);
        var writer = job.WriteControlAsync();
        _ = transfer.GuardAsync(writer);

        var hashes = new byte[entries.Count][];
        void Report(JobFileOutcome outcome)
        {
            int i = outcome.Index;
            ushort code = outcome.Failure is { } kind ? (ushort)TcpErrors.ToWire(kind) : (ushort)0;
            if (code == 0)
            {
                job.Observer.EntryProgress(i, layout.Size(i), resumed[i]);
                job.Observer.EntryDone(i, new TransferResult(layout.Size(i), job.Clock.Elapsed, Convert.ToHexStringLower(outcome.Sha256!)) { ResumedBytes = resumed[i] });
            }
            else
            {
                job.Observer.EntryFailed(i, outcome.Failure!.Value, outcome.Message);
            }

            job.Output.Writer.TryWrite(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(i, code, code == 0 ? string.Empty : outcome.Message)));
        }

        using var sink = new JobSink(layout, files, have, i =>
        {
            var partial = PartialFile.ForDownload(entries[i].LocalPath, layout.Size(i), Identity(job, i), overwrite);
            partial.SetCommitMetadata(entries[i].Mode & TcpWire.MaxMode, job.Statuses[i].MtimeUnixMs);
            return new JobSinkFile(partial, partial);
        }, Report);

        var progress = new Progress(job, resumed); // a piece written twice (its stream was lost before the ACK) counts twice, capped at the size
        var reader = ReadSenderFramesAsync(job, sink);
        _ = transfer.GuardAsync(reader);
        int count = TcpTransferClient.StreamsToOpen(accept.GrantedStreams, layout.TotalSize - have.TotalLength, accept.BlockSize, have.Count);
        int chunk = TcpServerSession.ChunkSizeFor(count, accept.BlockSize);
        bool IsDone() => sink.DataComplete;
        _ = transfer.RunStreamsAsync(
            count,
            (connection, index, slot, ct) => TcpStreamReceiver.RunAsync(
                connection, index, layout.TotalSize, (offset, data) =>
                {
                    sink.Write(offset, data, ct);
                    progress.Add(offset, data.Length);
                },
                accept.BlockSize, chunk, TcpStreamReceiver.WritePieceFor(count, chunk), transfer.Counters, static _ => { }, ct, limiter),
            static _ => { },
            IsDone);
        _ = transfer.WatchIdleAsync(job.Idle, IsDone);

        await transfer.WaitAsync(sink.AllResolved).ConfigureAwait(false);

        // Directories after the files below them, deepest first, so their mtimes stay.
        foreach (int i in job.Accepted.Where(i => entries[i].Kind == JobEntryKind.Directory).OrderByDescending(i => entries[i].RemotePath.Count(c => c == '/')).ThenBy(i => i))
        {
            ushort code = 0;
            string text = string.Empty;
            try
            {
                LocalTree.MakeDirectory(entries[i].LocalPath, entries[i].Mode & TcpWire.MaxMode, job.Statuses[i].MtimeUnixMs);
                job.Observer.EntryDone(i, new TransferResult(0, job.Clock.Elapsed, string.Empty));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                code = (ushort)(e is UnauthorizedAccessException ? TcpErrorCode.Denied : TcpErrorCode.Io);
                text = $"cannot create directory '{entries[i].LocalPath}': {e.Message}";
                job.Observer.EntryFailed(i, TcpErrors.FromWire((TcpErrorCode)code), text);
            }

            job.Output.Writer.TryWrite(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(i, code, text)));
        }

        var done = new byte[TcpSmallFrames.DoneFrameLength];
        TcpSmallFrames.WriteDone(done);
        job.DoneSent = true; // from here on, the server closing the control connection is the normal end
        job.Output.Writer.TryWrite(done);
        job.Output.Writer.TryComplete();
        await transfer.WaitAsync(writer).ConfigureAwait(false);

        // Let the server close first (as a single GET does): it then knows the streams ended with the session.
        try
        {
            await reader.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or TcpPeerException or OperationCanceledException)
        {
        }

        transfer.Verbose?.Invoke($"tcp: job received, {transfer.Counters.DataBytesReceived} bytes over {count} streams, {have.TotalLength} bytes resumed");
        await transfer.DisposeAsync().ConfigureAwait(false);
    }

    private static FileIdentity Identity(Job job, int i) => new(job.Statuses[i].Size, job.Statuses[i].MtimeUnixMs);

    private static long CountIn(RangeSet set, long start, long end)
    {
        long n = 0;
        foreach (var r in set)
        {
            n += Math.Max(0, Math.Min(end, r.End) - Math.Max(start, r.Start));
        }

        return n;
    }

    // JOB_PUT: the server's FILE_RESULTs (one per accepted entry), then DONE.
    private static async Task ReadResultsAsync(Job job, Func<int, (long Size, byte[]? Hash, long Resumed)> fileInfo)
    {
        await Task.Yield();
        var control = job.Transfer.Control!;
        int results = 0;
        while (true)
        {
            var (header, payload) = await control.ReadFrameAsync(job.Transfer.Token).ConfigureAwait(false);
            try
            {
                if (header.Type == TcpFrameType.Done)
                {
                    if (results != job.Accepted.Count)
                    {
                        throw new TcpPeerException(TcpErrorCode.BadFrame, $"DONE after {results} of {job.Accepted.Count} FILE_RESULTs");
                    }

                    return;
                }

                if (header.Type != TcpFrameType.FileResult)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where FILE_RESULT or DONE expected");
                }

                var status = TcpJobFrames.TryReadOutcome(payload.AsSpan(0, header.Length), job.Entries.Count, out var result);
                if (status != TcpDecodeStatus.Ok || !job.Statuses[result.Index].Accepted)
                {
                    throw TcpPeerException.Violation(status == TcpDecodeStatus.Ok ? TcpDecodeStatus.Malformed : status, "FILE_RESULT");
                }

                results++;
                int i = result.Index;
                if (result.Code != 0)
                {
                    job.Observer.EntryFailed(i, TcpErrors.FromWire((TcpErrorCode)result.Code), result.Text);
                }
                else if (job.Entries[i].Kind == JobEntryKind.Directory)
                {
                    job.Observer.EntryDone(i, new TransferResult(0, job.Clock.Elapsed, string.Empty));
                }
                else
                {
                    var (size, hash, resumed) = fileInfo(i);
                    job.Observer.EntryProgress(i, size, resumed);
                    job.Observer.EntryDone(i, new TransferResult(size, job.Clock.Elapsed, hash is null ? string.Empty : Convert.ToHexStringLower(hash)) { ResumedBytes = resumed });
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            }
        }
    }

    // JOB_GET: the server's FILE_HASH and FILE_ABORT frames, until it closes after our DONE.
    private static async Task ReadSenderFramesAsync(Job job, JobSink sink)
    {
        await Task.Yield();
        var control = job.Transfer.Control!;
        try
        {
            while (true)
            {
                var (header, payload) = await control.ReadFrameAsync(job.Transfer.Token).ConfigureAwait(false);
                try
                {
                    var body = payload.AsSpan(0, header.Length);
                    if (header.Type == TcpFrameType.FileHash)
                    {
                        var status = TcpJobFrames.TryReadFileHash(body, job.Entries.Count, out int index, out byte[] hash);
                        if (status != TcpDecodeStatus.Ok || !job.Statuses[index].Accepted)
                        {
                            throw TcpPeerException.Violation(status == TcpDecodeStatus.Ok ? TcpDecodeStatus.Malformed : status, "FILE_HASH");
                        }

                        sink.SetHash(index, hash);
                    }
                    else if (header.Type == TcpFrameType.FileAbort)
                    {
                        var status = TcpJobFrames.TryReadOutcome(body, job.Entries.Count, out var abort);
                        if (status != TcpDecodeStatus.Ok || !job.Statuses[abort.Index].Accepted)
                        {
                            throw TcpPeerException.Violation(status == TcpDecodeStatus.Ok ? TcpDecodeStatus.Malformed : status, "FILE_ABORT");
                        }

                        sink.Abort(abort.Index, TcpErrors.FromWire((TcpErrorCode)abort.Code), $"the server could not read it: {abort.Text}");
                    }
                    else
                    {
                        throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where FILE_HASH or FILE_ABORT expected");
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(payload);
                }
            }
        }
        catch (TcpPeerException e) when (e.ConnectionLost && job.DoneSent)
        {
            // The server closed after our DONE: the normal end.
        }
    }

    /// <summary>Per-file progress from job-space pieces (acknowledged or written), reported as <see cref="IJobObserver.EntryProgress"/>.</summary>
    private sealed class Progress(Job job, long[] resumed)
    {
        private readonly long[] _moved = new long[job.Entries.Count];

        public void Add(long offset, int length)
        {
            foreach (var seg in job.Layout.Segments(offset, length))
            {
                long moved = Interlocked.Add(ref _moved[seg.File], seg.Length);
                job.Observer.EntryProgress(seg.File, Math.Min(job.Layout.Size(seg.File), resumed[seg.File] + moved), resumed[seg.File]);
            }
        }
    }

    /// <summary>One job's session state on the client.</summary>
    private sealed class Job(
        TcpClientTransfer transfer, IReadOnlyList<JobEntry> entries, List<TcpEntryStatus> statuses, List<int> accepted, JobLayout layout, TcpAcceptReply accept,
        IJobObserver observer, Stopwatch clock, TimeSpan idle)
    {
        public TcpClientTransfer Transfer => transfer;

        public IReadOnlyList<JobEntry> Entries => entries;

        public List<TcpEntryStatus> Statuses => statuses;

        public List<int> Accepted => accepted;

        public JobLayout Layout => layout;

        public TcpAcceptReply Accept => accept;

        public IJobObserver Observer => observer;

        public Stopwatch Clock => clock;

        public TimeSpan Idle => idle;

        public Channel<byte[]> Output { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });

        public volatile bool DoneSent;

        // Sends queued control frames in order, several per write when they queue up.
        public async Task WriteControlAsync()
        {
            var batch = new System.Buffers.ArrayBufferWriter<byte>(64 * 1024);
            var control = transfer.Control!;
            while (await Output.Reader.WaitToReadAsync(transfer.Token).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.WrittenCount < 60 * 1024 && Output.Reader.TryRead(out var frame))
                {
                    frame.CopyTo(batch.GetSpan(frame.Length));
                    batch.Advance(frame.Length);
                }

                await control.SendAsync(batch.WrittenMemory, transfer.Token).ConfigureAwait(false);
            }
        }
    }
}
