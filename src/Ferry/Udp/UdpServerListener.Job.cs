using System.Collections.Concurrent;
using Ferry.Hosting;
using Ferry.Jobs;
using Ferry.Protocol.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tcp;
using Ferry.Transfers;

namespace Ferry.Udp;

/// <summary>
/// JOB_PUT and JOB_GET on udp://: many files in one connection. The manifest (ENTRIES) arrives on the client's control
/// stream, is judged off this loop (<see cref="ServerJob"/>, as tcp:// does), answered with STATUS on the server's
/// stream, then ACCEPT; the accepted files are one job byte space moved by the connection's data machinery. Per file:
/// FILE_HASH and FILE_ABORT from the sender, FILE_RESULT from the receiver, DONE after the last; the side that reads
/// DONE closes. See docs/PROTOCOL.md, "Jobs on udp://".
/// </summary>
public sealed partial class UdpServerListener
{
    /// <summary>Most jobs of many files at once on this listener (each may hold a manifest and open files).</summary>
    public const int MaxJobs = 16;

    /// <summary>Most jobs at once from one address.</summary>
    public const int MaxJobsPerAddress = 4;

    // Entries judged between two STATUS frames.
    private const int StatusBatch = 4096;

    private readonly Dictionary<Connection, UdpJob> _jobs = new();

    /// <summary>Tests: refuse jobs exactly as a server older than them does (PROTOCOL_VIOLATION "unknown operation").</summary>
    internal bool RefuseJobsAsOlderServer { get; set; }

    /// <summary>Tests: called on the loop once a job's manifest is judged, before its STATUS and ACCEPT go out.</summary>
    internal Action? AfterJobJudged { get; set; }

    private static bool IsJob(ConnectionEvent ev) => ev.Op.IsJob();

    private void BeginJob(Connection c, ConnectionEvent ev, long now)
    {
        var request = RequestOf(c, ev.Op, "(job)", ev.Token);
        if (RefuseJobsAsOlderServer)
        {
            c.Reject(TransferError.ProtocolViolation, $"unknown operation {(byte)ev.Op} in REQUEST (1 = GET, 2 = PUT, 3 = LIST, 4 = MKDIR)", now);
            return;
        }

        string address = SocketAddressCodec.ToEndPoint(c.Peer).Address.ToString();
        if (ev.Size > TcpWire.MaxJobEntries)
        {
            c.Reject(TransferError.TooLarge, $"a job of {ev.Size} entries is more than this server takes ({TcpWire.MaxJobEntries})", now);
            _context.Transfers.Refused(request, "too many entries");
            return;
        }

        if (_jobs.Count >= MaxJobs || _jobs.Values.Count(j => j.Address == address) >= MaxJobsPerAddress)
        {
            c.Reject(TransferError.ServerBusy,
                $"too many jobs of many files at once (at most {MaxJobs} on this server, {MaxJobsPerAddress} from one address); try again later", now);
            _context.Transfers.Refused(request, "too many jobs");
            return;
        }

        _jobs[c] = new UdpJob(request, address, (int)ev.Size, ev.Op == TransferOp.JobPut, _clock.NowMicros) { UploadKey = ev.UploadKey, RateLimit = ev.RateLimit };
    }

    private void OnJobStream(Connection c, byte[] bytes, long now)
    {
        if (!_jobs.TryGetValue(c, out var job))
        {
            return;
        }

        job.Reader.Append(bytes);
        while (c.State is not (ConnectionState.Closing or ConnectionState.Closed))
        {
            if (!job.Reader.TryRead(out var type, out var payload, out var status))
            {
                if (status != TcpDecodeStatus.Ok)
                {
                    c.Close(TransferError.ProtocolViolation, $"control stream: {status}", now);
                }

                return;
            }

            if (job.Entries.Count < job.Expected)
            {
                if (type != TcpFrameType.Entries)
                {
                    c.Close(TransferError.ProtocolViolation, $"{type} where ENTRIES expected", now);
                    return;
                }

                job.ManifestBytes += payload.Length;
                if (job.ManifestBytes > TcpWire.MaxManifestBytes)
                {
                    c.Close(TransferError.TooLarge, $"the job's manifest exceeds {TcpWire.MaxManifestBytes} bytes", now);
                    return;
                }

                if (TcpJobFrames.TryReadEntries(payload, job.Expected - job.Entries.Count, job.Entries) != TcpDecodeStatus.Ok)
                {
                    c.Close(TransferError.ProtocolViolation, "ENTRIES: malformed", now);
                    return;
                }

                if (job.Entries.Count == job.Expected)
                {
                    // Judging opens files and reads journals: off this loop, as a listing is built.
                    var serverJob = job.Server = new ServerJob(_context, job.Request, job.Entries, job.Put);
                    job.Judging = Task.Run(() =>
                    {
                        while (!serverJob.Judged)
                        {
                            // STATUS goes out as it is decided (the loop writes what is queued): on a large manifest the
                            // client hears progress, and its idle timeout does not run out.
                            if (serverJob.Statuses.Count - job.StatusSent >= StatusBatch)
                            {
                                job.Outbox.Enqueue(TcpJobFrames.WriteStatus(serverJob.Statuses, ref job.StatusSent));
                            }

                            serverJob.JudgeNext();
                        }

                        return serverJob.Lay(FrameCodec.MaxFileSize);
                    });
                }

                continue;
            }

            if (job.Judging is not { IsCompleted: true })
            {
                c.Close(TransferError.ProtocolViolation, $"{type} before the server's STATUS", now);
                return;
            }

            OnJobFrame(c, job, type, payload, now);
        }
    }

    private void OnJobFrame(Connection c, UdpJob job, TcpFrameType type, byte[] payload, long now)
    {
        var server = job.Server!;
        int count = server.Entries.Count;
        if (job.Put && type == TcpFrameType.FileHash && job.Sink is { } sink)
        {
            if (TcpJobFrames.TryReadFileHash(payload, count, out int index, out byte[] hash) != TcpDecodeStatus.Ok || !server.Statuses[index].Accepted || !server.Entries[index].IsFile)
            {
                c.Close(TransferError.ProtocolViolation, "FILE_HASH: malformed or not an accepted file", now);
                return;
            }

            sink.SetHash(index, hash);
        }
        else if (job.Put && type == TcpFrameType.FileAbort && job.Sink is { } aborted)
        {
            if (TcpJobFrames.TryReadOutcome(payload, count, out var abort) != TcpDecodeStatus.Ok || !server.Statuses[abort.Index].Accepted)
            {
                c.Close(TransferError.ProtocolViolation, "FILE_ABORT: malformed or not an accepted entry", now);
                return;
            }

            aborted.Abort(abort.Index, TcpErrors.FromWire((TcpErrorCode)abort.Code), $"the client could not read it: {abort.Text}");
        }
        else if (!job.Put && type == TcpFrameType.FileResult)
        {
            if (TcpJobFrames.TryReadOutcome(payload, count, out var result) != TcpDecodeStatus.Ok || !server.Statuses[result.Index].Accepted)
            {
                c.Close(TransferError.ProtocolViolation, "FILE_RESULT: malformed or not an accepted entry", now);
                return;
            }

            job.Results++;
            if (result.Code == 0)
            {
                job.Committed++;
            }
            else
            {
                job.Failed++;
                _context.Transfers.Failed(server.Requests[result.Index], $"the client reports: {result.Text}");
            }
        }
        else if (!job.Put && type == TcpFrameType.Done)
        {
            if (job.Results != server.Accepted)
            {
                c.Close(TransferError.ProtocolViolation, $"DONE after {job.Results} of {server.Accepted} FILE_RESULTs", now);
                return;
            }

            _context.Transfers.Done(job.Request,
                $"{job.Committed} of {server.Accepted} entries delivered, {job.Failed} failed, {c.Size} bytes in {(now - job.StartedAt) / 1e6:F2} s ({c.Stats.DataBytesRetransmitted} bytes retransmitted)");
            job.Finished = true;
            c.FinishJob(now);
        }
        else
        {
            c.Close(TransferError.ProtocolViolation, $"{type} is not expected from the client in a {(job.Put ? "JOB_PUT" : "JOB_GET")}", now);
        }
    }

    /// <summary>Once per loop: answers judged manifests, passes on what other threads produced, and ends finished uploads.</summary>
    private void PumpJobs(long now)
    {
        if (_jobs.Count == 0)
        {
            return;
        }

        foreach (var (c, job) in _jobs.ToList())
        {
            if (c.State is ConnectionState.Closing or ConnectionState.Closed)
            {
                continue;
            }

            if (!job.Accepted && job.Judging is { IsCompleted: true } judging)
            {
                StartJob(c, job, judging, now);
                continue;
            }

            while (job.Outbox.TryDequeue(out var frame))
            {
                c.WriteStream(frame);
            }

            c.RefreshFlowLimit();
            if (job.Put && job.Sink is not null && Volatile.Read(ref job.Reported) == job.Server!.AcceptedFiles.Count && !job.DoneSent)
            {
                FinishJobPut(c, job);
            }
        }
    }

    private void StartJob(Connection c, UdpJob job, Task<bool> judging, long now)
    {
        job.Accepted = true;
        var server = job.Server!;
        AfterJobJudged?.Invoke();
        if (!judging.IsCompletedSuccessfully)
        {
            var e = judging.Exception?.InnerException;
            c.Close(e is null ? TransferError.Io : UdpErrors.ToWire(e), e?.Message ?? "judging the manifest failed", now);
            return;
        }

        if (!judging.Result)
        {
            c.Close(TransferError.TooLarge, $"the job's accepted files add up to more than {FrameCodec.MaxFileSize} bytes", now);
            return;
        }

        while (job.Outbox.TryDequeue(out var batch))
        {
            c.WriteStream(batch);
        }

        for (int sent = job.StatusSent; sent < server.Statuses.Count;)
        {
            c.WriteStream(TcpJobFrames.WriteStatus(server.Statuses, ref sent));
        }

        var layout = server.Layout;
        job.StartedAt = now;
        if (job.Put)
        {
            job.Sink = server.CreateSink(outcome =>
            {
                ushort code = outcome.Failure is { } kind ? (ushort)TcpErrors.ToWire(kind) : (ushort)0;
                if (code == 0)
                {
                    Interlocked.Increment(ref job.Committed);
                }
                else
                {
                    Interlocked.Increment(ref job.Failed);
                    _context.Transfers.Failed(server.Requests[outcome.Index], outcome.Message);
                }

                job.Outbox.Enqueue(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(outcome.Index, code, code == 0 ? string.Empty : outcome.Message)));
                Interlocked.Increment(ref job.Reported); // after the frame is queued: DONE must follow every FILE_RESULT
            },
            job.UploadKey is { } key ? i => Connection.EntryUploadKey(key, server.Entries[i].Path) : null,
            _ => new Takeover(this, c));
            _rates.Join(c, job.RateLimit);
            c.AcceptJob(layout.TotalSize, null, new JobDataSink(job.Sink), server.Present);
            _context.Transfers.Started(job.Request, layout.TotalSize,
                $"job of {server.Entries.Count} entries, {server.Accepted} accepted, {server.Present.TotalLength} bytes already here");
        }
        else
        {
            job.Source = server.CreateSource((i, kind, message) =>
                job.Outbox.Enqueue(TcpJobFrames.WriteOutcome(TcpFrameType.FileAbort, new TcpFileOutcome(i, (ushort)TcpErrors.ToWire(kind), message))));
            _rates.Join(c, job.RateLimit);
            c.AcceptJob(layout.TotalSize, new JobDataSource(job.Source), null, null);
            job.Hasher = job.Source.RunHasherAsync(server.AcceptedFiles, (i, hash) =>
            {
                job.Outbox.Enqueue(TcpJobFrames.WriteFileHash(i, hash));
                return Task.CompletedTask;
            }, job.Stop.Token);
            _context.Transfers.Started(job.Request, layout.TotalSize, $"job of {server.Entries.Count} entries, {server.Accepted} accepted");
        }
    }

    private void FinishJobPut(Connection c, UdpJob job)
    {
        var server = job.Server!;
        job.DoneSent = true;
        while (job.Outbox.TryDequeue(out var frame))
        {
            c.WriteStream(frame);
        }

        // Directories after the files below them, deepest first, so their mtimes stay.
        foreach (int i in server.DirectoriesDeepestFirst())
        {
            var (code, text) = server.MakeDirectory(i);
            if (code == 0)
            {
                job.Committed++;
            }
            else
            {
                job.Failed++;
            }

            c.WriteStream(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(i, code, text)));
        }

        var done = new byte[TcpSmallFrames.DoneFrameLength];
        TcpSmallFrames.WriteDone(done);
        c.WriteStream(done);
        job.Finished = true;
        _context.Transfers.Done(job.Request,
            $"{job.Committed} of {server.Accepted} entries committed, {job.Failed} failed, {c.Size - server.Present.TotalLength} bytes received in {(_clock.NowMicros - job.StartedAt) / 1e6:F2} s");
    }

    private void ReleaseJob(Connection c)
    {
        if (_jobs.Remove(c, out var job))
        {
            job.Dispose();
        }
    }

    /// <summary>One job's state on this listener.</summary>
    private sealed class UdpJob(TransferRequest request, string address, int expected, bool put, long now) : IDisposable
    {
        public TransferRequest Request => request;

        public string Address => address;

        public int Expected => expected;

        public bool Put => put;

        public JobFrameReader Reader { get; } = new(fromClient: true);

        public List<TcpJobEntry> Entries { get; } = new();

        public long ManifestBytes;

        /// <summary>STATUS records queued so far (by the judging task, then the loop).</summary>
        public int StatusSent;

        public ServerJob? Server;

        public Task<bool>? Judging;

        public bool Accepted;

        public JobSink? Sink;

        public JobSource? Source;

        public Task? Hasher;

        /// <summary>Frames other threads produced (outcomes, hashes), written to the stream by the loop.</summary>
        public ConcurrentQueue<byte[]> Outbox { get; } = new();

        /// <summary>The job's upload key (JOB_PUT), from which each entry's is derived; null: none.</summary>
        public byte[]? UploadKey { get; init; }

        /// <summary>The rate the client asked for in its RATE_LIMIT (null: it sent none).</summary>
        public long? RateLimit { get; init; }

        public CancellationTokenSource Stop { get; } = new();

        public long StartedAt = now;

        public int Results;

        /// <summary>JOB_PUT: files whose FILE_RESULT is queued.</summary>
        public int Reported;

        public int Committed;

        public int Failed;

        public bool DoneSent;

        public bool Finished;

        public void Dispose()
        {
            Stop.Cancel();
            if (Hasher is { } hasher)
            {
                hasher.ContinueWith(_ => { Source?.Dispose(); Stop.Dispose(); }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            else
            {
                Source?.Dispose();
                Stop.Dispose();
            }

            Sink?.Dispose();
        }
    }
}
