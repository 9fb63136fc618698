using System.Threading.Channels;
using Ferry.Files;
using Ferry.Hosting;
using Ferry.Jobs;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Protocol.Tcp;

namespace Ferry.Tcp;

/// <summary>
/// JOB_PUT and JOB_GET: many files in one session. The manifest (ENTRIES) is checked entry by entry (the token on each
/// path, the file engine's verdict), answered with STATUS, and the accepted files are laid end to end in one byte space
/// that the ordinary machinery moves (ACCEPT, HAVE, blocks, DATA, ACK). Per file: FILE_HASH and FILE_ABORT from the
/// sender, FILE_RESULT from the receiver; DONE once every accepted entry has its result.
/// </summary>
internal sealed partial class TcpServerSession
{
    // Entries judged between two STATUS frames (a frame is cut at 1 MiB whatever the batch).
    private const int StatusBatch = 4096;

    private JobSink? _jobSink;
    private JobSource? _jobSource;

    private async Task RunJobAsync(CancellationToken ct)
    {
        var entries = await ReadManifestAsync((int)_open.Size, ct).ConfigureAwait(false);
        bool put = Operation == TcpOperation.JobPut;
        var job = new ServerJob(_listener.Context, Request, entries, put);
        int sent = 0;
        while (!job.Judged)
        {
            // STATUS goes out as it is decided: the client hears progress on a large manifest, and so does the idle watchdog.
            if (job.Statuses.Count - sent >= StatusBatch)
            {
                await Control.SendAsync(TcpJobFrames.WriteStatus(job.Statuses, ref sent), ct).ConfigureAwait(false);
            }

            job.JudgeNext();
        }

        if (!job.Lay())
        {
            throw new TcpPeerException(TcpErrorCode.TooLarge, $"the job's accepted files add up to more than {JobLayout.MaxTotalSize} bytes");
        }

        FileSize = job.Layout.TotalSize;
        while (sent < job.Statuses.Count)
        {
            await Control.SendAsync(TcpJobFrames.WriteStatus(job.Statuses, ref sent), ct).ConfigureAwait(false);
        }

        var output = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        var writer = WriteControlAsync(output.Reader, ct);
        try
        {
            if (put)
            {
                await RunJobPutAsync(job, output.Writer, writer, ct).ConfigureAwait(false);
            }
            else
            {
                await RunJobGetAsync(job, output.Writer, writer, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            output.Writer.TryComplete();
        }
    }

    private async Task<List<TcpJobEntry>> ReadManifestAsync(int count, CancellationToken ct)
    {
        var entries = new List<TcpJobEntry>(Math.Min(count, 4096));
        long manifestBytes = 0;
        while (entries.Count < count)
        {
            var (header, payload) = await Control.ReadFrameAsync(ct).ConfigureAwait(false);
            try
            {
                if (header.Type != TcpFrameType.Entries)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where ENTRIES expected");
                }

                manifestBytes += header.Length;
                if (manifestBytes > TcpWire.MaxManifestBytes)
                {
                    throw new TcpPeerException(TcpErrorCode.TooLarge, $"the job's manifest exceeds {TcpWire.MaxManifestBytes} bytes");
                }

                var status = TcpJobFrames.TryReadEntries(payload.AsSpan(0, header.Length), count - entries.Count, entries);
                if (status != TcpDecodeStatus.Ok)
                {
                    throw TcpPeerException.Violation(status, "ENTRIES");
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            }
        }

        return entries;
    }

    private async Task RunJobPutAsync(ServerJob job, ChannelWriter<byte[]> output, Task writer, CancellationToken ct)
    {
        var (entries, statuses, requests, layout, present, accepted) = (job.Entries, job.Statuses, job.Requests, job.Layout, job.Present, job.Accepted);
        var transfers = _listener.Context.Transfers;
        int committed = 0, failed = 0;
        void Report(JobFileOutcome outcome)
        {
            var code = outcome.Failure is { } kind ? (ushort)TcpErrors.ToWire(kind) : (ushort)0;
            if (code == 0)
            {
                Interlocked.Increment(ref committed);
            }
            else
            {
                Interlocked.Increment(ref failed);
                transfers.Failed(requests[outcome.Index], outcome.Message);
            }

            output.TryWrite(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(outcome.Index, code, code == 0 ? string.Empty : outcome.Message)));
        }

        _jobSink = job.CreateSink(Report);

        await SendAcceptAsync(new TcpFileVersion(layout.TotalSize, 0), present, ct).ConfigureAwait(false);
        transfers.Started(Request, layout.TotalSize, $"job of {entries.Count} entries, {accepted} accepted, {present.TotalLength} bytes already here, session {Id}, {GrantedStreams} stream(s)");

        var reader = ReadJobPutControlAsync(entries.Count, statuses, ct);
        var first = await Task.WhenAny(_jobSink.AllResolved, reader).ConfigureAwait(false);
        if (first == reader)
        {
            await reader.ConfigureAwait(false); // the client's ERROR, a violation or the lost connection
            throw new TcpPeerException(TcpErrorCode.BadFrame, "control connection ended before every file was resolved");
        }

        // Directories after the files below them, deepest first, so their mtimes stay.
        foreach (int i in job.DirectoriesDeepestFirst())
        {
            var (code, text) = job.MakeDirectory(i);
            if (code == 0)
            {
                Interlocked.Increment(ref committed);
            }
            else
            {
                Interlocked.Increment(ref failed);
            }

            output.TryWrite(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(i, code, text)));
        }

        var done = new byte[TcpSmallFrames.DoneFrameLength];
        TcpSmallFrames.WriteDone(done);
        output.TryWrite(done);
        output.TryComplete();
        await writer.ConfigureAwait(false);
        transfers.Done(Request, $"{committed} of {accepted} entries committed, {failed} failed, {layout.TotalSize - present.TotalLength} bytes received in {Elapsed.TotalSeconds:F2} s");
    }

    // JOB_PUT's control connection after ACCEPT: FILE_HASH and FILE_ABORT from the client, until the session ends.
    private async Task ReadJobPutControlAsync(int entryCount, IReadOnlyList<TcpEntryStatus> statuses, CancellationToken ct)
    {
        await Task.Yield();
        var sink = _jobSink!;
        while (true)
        {
            var (header, payload) = await Control.ReadFrameAsync(ct).ConfigureAwait(false);
            try
            {
                var body = payload.AsSpan(0, header.Length);
                if (header.Type == TcpFrameType.FileHash)
                {
                    var status = TcpJobFrames.TryReadFileHash(body, entryCount, out int index, out byte[] hash);
                    if (status != TcpDecodeStatus.Ok || !statuses[index].Accepted)
                    {
                        throw TcpPeerException.Violation(status == TcpDecodeStatus.Ok ? TcpDecodeStatus.Malformed : status, "FILE_HASH");
                    }

                    sink.SetHash(index, hash);
                }
                else if (header.Type == TcpFrameType.FileAbort)
                {
                    var status = TcpJobFrames.TryReadOutcome(body, entryCount, out var abort);
                    if (status != TcpDecodeStatus.Ok || !statuses[abort.Index].Accepted)
                    {
                        throw TcpPeerException.Violation(status == TcpDecodeStatus.Ok ? TcpDecodeStatus.Malformed : status, "FILE_ABORT");
                    }

                    sink.Abort(abort.Index, TcpErrors.FromWire((TcpErrorCode)abort.Code), $"the client could not read it: {abort.Text}");
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

    private async Task RunJobGetAsync(ServerJob job, ChannelWriter<byte[]> output, Task writer, CancellationToken ct)
    {
        var (entries, requests, acceptedFiles, accepted) = (job.Entries, job.Requests, job.AcceptedFiles, job.Accepted);
        var transfers = _listener.Context.Transfers;
        await SendAcceptAsync(new TcpFileVersion(job.Layout.TotalSize, 0), new RangeSet(), ct).ConfigureAwait(false);
        var have = await ReadHaveAsync(ct).ConfigureAwait(false);

        _jobSource = job.CreateSource((i, kind, message) =>
            output.TryWrite(TcpJobFrames.WriteOutcome(TcpFrameType.FileAbort, new TcpFileOutcome(i, (ushort)TcpErrors.ToWire(kind), message))));
        var coordinator = new TcpSendCoordinator(new BlockScheduler(FileSize, BlockSize, have));
        _started.TrySetResult(coordinator);
        transfers.Started(Request, FileSize, $"job of {entries.Count} entries, {accepted} accepted, {have.TotalLength} bytes already at the client, session {Id}, {GrantedStreams} stream(s)");

        var hasher = _jobSource.RunHasherAsync(acceptedFiles, (i, hash) => output.WriteAsync(TcpJobFrames.WriteFileHash(i, hash), ct).AsTask(), ct);
        int committed = 0, failed = 0, results = 0;
        try
        {
            while (true)
            {
                var (h, p) = await Control.ReadFrameAsync(ct).ConfigureAwait(false);
                try
                {
                    if (h.Type == TcpFrameType.Done)
                    {
                        if (results != accepted)
                        {
                            throw new TcpPeerException(TcpErrorCode.BadFrame, $"DONE after {results} of {accepted} FILE_RESULTs");
                        }

                        break;
                    }

                    if (h.Type != TcpFrameType.FileResult)
                    {
                        throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{h.Type} where FILE_RESULT or DONE expected");
                    }

                    var status = TcpJobFrames.TryReadOutcome(p.AsSpan(0, h.Length), entries.Count, out var result);
                    if (status != TcpDecodeStatus.Ok)
                    {
                        throw TcpPeerException.Violation(status, "FILE_RESULT");
                    }

                    results++;
                    if (result.Code == 0)
                    {
                        committed++;
                    }
                    else
                    {
                        failed++;
                        transfers.Failed(requests[result.Index], $"the client reports: {result.Text}");
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(p);
                }
            }
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
                await hasher.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ChannelClosedException)
            {
            }
        }

        transfers.Done(Request, $"{committed} of {accepted} entries delivered, {failed} failed, {coordinator.BytesToSend} bytes sent in {Elapsed.TotalSeconds:F2} s");
    }

    // Sends queued control frames in order, several per write when they queue up (one TLS record, one syscall).
    private async Task WriteControlAsync(ChannelReader<byte[]> frames, CancellationToken ct)
    {
        var batch = new System.Buffers.ArrayBufferWriter<byte>(64 * 1024);
        try
        {
            while (await frames.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.WrittenCount < 60 * 1024 && frames.TryRead(out var frame))
                {
                    frame.CopyTo(batch.GetSpan(frame.Length));
                    batch.Advance(frame.Length);
                }

                await Control.SendAsync(batch.WrittenMemory, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or TcpPeerException && ct.IsCancellationRequested)
        {
        }
    }
}
