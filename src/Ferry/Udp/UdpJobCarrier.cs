using System.Collections.Concurrent;
using System.Diagnostics;
using Ferry.Files;
using Ferry.Jobs;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tcp;
using Ferry.Transfers;

namespace Ferry.Udp;

/// <summary>What a job connection's loop hands to the job: the connection once made, its events, and one call per turn.</summary>
internal interface IUdpJobDriver
{
    /// <summary>The connection exists (nothing sent yet): write the manifest.</summary>
    void Start(Connection connection);

    /// <summary>An event of the connection; true when the loop is over.</summary>
    bool OnEvent(Connection connection, ConnectionEvent ev, long now);

    /// <summary>Once per turn of the loop, before sending: pass on what other threads produced.</summary>
    void Pump(Connection connection, long now);

    /// <summary>True once the job ended normally (a Ctrl+C after that changes nothing).</summary>
    bool Succeeded { get; }
}

/// <summary>
/// udp://'s job carrier: a whole job of many files in one connection (one handshake, one ACK space, one congestion
/// controller): REQUEST JOB_PUT or JOB_GET with the manifest on the client's control stream, the server's STATUS per
/// entry on its stream, ACCEPT, then the accepted files laid end to end in one byte space moved by the connection's
/// data machinery, so small files share datagrams and no file costs a round trip. Per file: FILE_HASH / FILE_ABORT from
/// the sender, FILE_RESULT from the receiver, then DONE; the side that reads DONE closes. A server older than jobs
/// closes with PROTOCOL_VIOLATION "unknown operation": the carrier then throws a <see cref="TransferException"/> with
/// <see cref="TransferException.CarrierUnsupported"/> before anything moved.
/// </summary>
public sealed class UdpJobCarrier : IJobCarrier
{
    private readonly TimeProvider _time;

    public UdpJobCarrier(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
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

        JobEntries.CheckForOneSession(entries, "udp:// carries in one connection");

        // JOB_PUT: one upload key for the job, kept until it succeeds, so that the same command run again after an
        // interruption takes over its own uploads on the server at once (each entry's key is derived from it).
        var keys = put ? UploadKeys.Default : null;
        var (keyLocal, keyRemote) = JobKeyOf(server, entries);
        var own = options.Clone();
        own.UploadKey = keys?.GetOrCreate(keyLocal, keyRemote);
        var job = new Job(entries, observer, put, options.Overwrite);
        try
        {
            await UdpTransferClient.RunJobAsync(server, _time, put ? TransferOp.JobPut : TransferOp.JobGet, entries.Count, own, job, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            job.Dispose();
        }

        if (job.Failure is { } failure)
        {
            throw failure;
        }

        keys?.Forget(keyLocal, keyRemote);
    }

    /// <summary>What names a job for its upload key: the deepest local directory and remote path holding all its entries.</summary>
    private static (string Local, RemoteUrl Remote) JobKeyOf(RemoteUrl server, IReadOnlyList<JobEntry> entries)
    {
        static string Common(IEnumerable<string> paths, char separator)
        {
            string? common = null;
            foreach (string p in paths)
            {
                string dir = p.Contains(separator, StringComparison.Ordinal) ? p[..p.LastIndexOf(separator)] : string.Empty;
                if (common is null)
                {
                    common = dir;
                    continue;
                }

                while (common.Length > 0 && !(dir == common || dir.StartsWith(common + separator, StringComparison.Ordinal)))
                {
                    common = common.Contains(separator, StringComparison.Ordinal) ? common[..common.LastIndexOf(separator)] : string.Empty;
                }
            }

            return common ?? string.Empty;
        }

        string local = Common(entries.Select(e => e.LocalPath), Path.DirectorySeparatorChar);
        return (local.Length == 0 ? Path.DirectorySeparatorChar.ToString() : local, server.WithPath(Common(entries.Select(e => e.RemotePath), '/') + "/"));
    }

    /// <summary>One job on the client: runs on the connection's loop thread, except for the hasher and the commits.</summary>
    private sealed class Job(IReadOnlyList<JobEntry> entries, IJobObserver observer, bool put, bool overwrite) : IUdpJobDriver, IDisposable
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly JobFrameReader _reader = new(fromClient: false);
        private readonly List<TcpEntryStatus> _statuses = new(Math.Min(entries.Count, 4096));
        private readonly ConcurrentQueue<byte[]> _outbox = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly long[] _resumed = new long[entries.Count];
        private byte[]?[] _hashes = [];
        private long _acceptedSize = -1;
        private bool _started;
        private JobLayout? _layout;
        private List<int> _accepted = new();
        private List<int> _files = new();
        private JobSource? _source;
        private JobSink? _sink;
        private Task? _hasher;
        private int _results;
        private readonly List<(TcpFrameType Type, byte[] Payload)> _early = new();
        private int _reported;
        private bool _doneRead;
        private bool _doneSent;
        private int _progressCursor;
        private long _lastProgress;

        public TransferException? Failure { get; private set; }

        public bool Succeeded { get; private set; }

        public void Start(Connection connection)
        {
            var wire = entries.Select(e => new TcpJobEntry(
                e.Kind == JobEntryKind.File ? TcpJobEntry.FileType : TcpJobEntry.DirectoryType, e.Mode & TcpWire.MaxMode, e.Kind == JobEntryKind.File ? e.Size : 0, e.MtimeUnixMs, e.RemotePath)).ToList();
            for (int next = 0; next < wire.Count;)
            {
                connection.WriteStream(TcpJobFrames.WriteEntries(wire, ref next));
            }
        }

        public bool OnEvent(Connection connection, ConnectionEvent ev, long now)
        {
            switch (ev.Kind)
            {
                case ConnectionEventKind.Accepted:
                    _acceptedSize = ev.Size;
                    TryStart(connection, now);
                    break;
                case ConnectionEventKind.StreamData:
                    OnStream(connection, ev.StreamBytes!, now);
                    break;
                case ConnectionEventKind.Closed:
                    OnClosed(connection, ev);
                    return true;
            }

            return false;
        }

        public void Pump(Connection connection, long now)
        {
            while (_outbox.TryDequeue(out var frame))
            {
                connection.WriteStream(frame);
            }

            if (_layout is null)
            {
                return;
            }

            connection.RefreshFlowLimit();
            if (now - _lastProgress >= 100_000)
            {
                _lastProgress = now;
                ReportProgress(connection.ContiguousBytesDone);
            }

            if (!put && _sink is not null && Volatile.Read(ref _reported) == _files.Count && !_doneSent)
            {
                FinishDownload(connection);
            }
        }

        private void OnStream(Connection connection, byte[] bytes, long now)
        {
            _reader.Append(bytes);
            while (connection.State is not (ConnectionState.Closing or ConnectionState.Closed))
            {
                if (!_reader.TryRead(out var type, out var payload, out var status))
                {
                    if (status != TcpDecodeStatus.Ok)
                    {
                        Violation(connection, $"control stream: {status}", now);
                    }

                    return;
                }

                if (_statuses.Count < entries.Count)
                {
                    if (type != TcpFrameType.Status || TcpJobFrames.TryReadStatus(payload, entries.Count, _statuses) != TcpDecodeStatus.Ok)
                    {
                        Violation(connection, $"{type} where a well-formed STATUS was expected", now);
                        return;
                    }

                    TryStart(connection, now);
                    continue;
                }

                if (!_started)
                {
                    // The server's frames may overtake its ACCEPT (a lost packet): held until the job is laid out.
                    _early.Add((type, payload));
                    continue;
                }

                OnJobFrame(connection, type, payload, now);
            }
        }

        private void OnJobFrame(Connection connection, TcpFrameType type, byte[] payload, long now)
        {
            if (put && type == TcpFrameType.FileResult)
            {
                if (TcpJobFrames.TryReadOutcome(payload, entries.Count, out var result) != TcpDecodeStatus.Ok || !_statuses[result.Index].Accepted)
                {
                    Violation(connection, "FILE_RESULT: malformed or not an accepted entry", now);
                    return;
                }

                _results++;
                int i = result.Index;
                if (result.Code != 0)
                {
                    observer.EntryFailed(i, TcpErrors.FromWire((TcpErrorCode)result.Code), result.Text);
                }
                else if (entries[i].Kind == JobEntryKind.Directory)
                {
                    observer.EntryDone(i, new TransferResult(0, _clock.Elapsed, string.Empty));
                }
                else
                {
                    long size = _layout!.Size(i);
                    observer.EntryProgress(i, size, _resumed[i]);
                    var hash = _hashes[i];
                    observer.EntryDone(i, new TransferResult(size, _clock.Elapsed, hash is null ? string.Empty : Convert.ToHexStringLower(hash)) { ResumedBytes = _resumed[i] });
                }
            }
            else if (put && type == TcpFrameType.Done)
            {
                if (_results != _accepted.Count)
                {
                    Violation(connection, $"DONE after {_results} of {_accepted.Count} FILE_RESULTs", now);
                    return;
                }

                _doneRead = true;
                Succeeded = true;
                connection.FinishJob(now);
            }
            else if (!put && type == TcpFrameType.FileHash)
            {
                if (TcpJobFrames.TryReadFileHash(payload, entries.Count, out int index, out byte[] hash) != TcpDecodeStatus.Ok
                    || !_statuses[index].Accepted || entries[index].Kind != JobEntryKind.File)
                {
                    Violation(connection, "FILE_HASH: malformed or not an accepted file", now);
                    return;
                }

                _sink!.SetHash(index, hash);
            }
            else if (!put && type == TcpFrameType.FileAbort)
            {
                if (TcpJobFrames.TryReadOutcome(payload, entries.Count, out var abort) != TcpDecodeStatus.Ok || !_statuses[abort.Index].Accepted)
                {
                    Violation(connection, "FILE_ABORT: malformed or not an accepted entry", now);
                    return;
                }

                _sink!.Abort(abort.Index, TcpErrors.FromWire((TcpErrorCode)abort.Code), $"the server could not read it: {abort.Text}");
            }
            else
            {
                Violation(connection, $"{type} is not expected from the server in a {(put ? "JOB_PUT" : "JOB_GET")}", now);
            }
        }

        // Once ACCEPT and every STATUS are in: lay the job out and start moving it.
        private void TryStart(Connection connection, long now)
        {
            if (_started || _acceptedSize < 0 || _statuses.Count < entries.Count || connection.State != ConnectionState.Established)
            {
                return;
            }

            _started = true;
            var sizes = new long[entries.Count];
            for (int i = 0; i < entries.Count; i++)
            {
                var s = _statuses[i];
                if (!s.Accepted)
                {
                    observer.EntryFailed(i, TcpErrors.FromWire((TcpErrorCode)s.Code), s.Text);
                    continue;
                }

                _accepted.Add(i);
                if (entries[i].Kind == JobEntryKind.File)
                {
                    sizes[i] = put ? entries[i].Size : s.Size;
                    _files.Add(i);
                }
            }

            var layout = _layout = new JobLayout(sizes);
            if (layout.TotalSize != _acceptedSize)
            {
                Violation(connection, $"the server's job has {_acceptedSize} bytes, its accepted files {layout.TotalSize}", now);
                return;
            }

            if (put)
            {
                StartUpload(connection, layout);
            }
            else
            {
                StartDownload(connection, layout);
            }

            foreach (var (type, payload) in _early)
            {
                if (connection.State is ConnectionState.Closing or ConnectionState.Closed)
                {
                    break;
                }

                OnJobFrame(connection, type, payload, now);
            }

            _early.Clear();
        }

        private void StartUpload(Connection connection, JobLayout layout)
        {
            _hashes = new byte[entries.Count][];
            _source = new JobSource(
                layout,
                i =>
                {
                    var handle = File.OpenHandle(entries[i].LocalPath, FileMode.Open, FileAccess.Read, FileShare.Read);
                    return new JobSourceFile(handle, RandomAccess.GetLength(handle), handle);
                },
                (i, kind, message) => _outbox.Enqueue(TcpJobFrames.WriteOutcome(TcpFrameType.FileAbort, new TcpFileOutcome(i, (ushort)TcpErrors.ToWire(kind), message))));
            connection.StartSendingJob(new JobDataSource(_source));
            _hasher = _source.RunHasherAsync(_files, (i, hash) =>
            {
                _hashes[i] = hash;
                _outbox.Enqueue(TcpJobFrames.WriteFileHash(i, hash));
                return Task.CompletedTask;
            }, _stop.Token);
        }

        private void StartDownload(Connection connection, JobLayout layout)
        {
            var have = new RangeSet();
            foreach (int i in _files)
            {
                long size = layout.Size(i);
                if (size == 0)
                {
                    continue;
                }

                long start = layout.Start(i);
                foreach (var r in PartialFile.PeekDownload(entries[i].LocalPath, size, Identity(i), overwrite))
                {
                    have.Add(start + r.Start, start + Math.Min(size, r.End));
                    _resumed[i] += Math.Min(size, r.End) - r.Start;
                }

                if (_resumed[i] > 0)
                {
                    observer.EntryProgress(i, _resumed[i], _resumed[i]);
                }
            }

            _sink = new JobSink(layout, _files, have, i =>
            {
                var partial = PartialFile.ForDownload(entries[i].LocalPath, layout.Size(i), Identity(i), overwrite);
                partial.SetCommitMetadata(entries[i].Mode & TcpWire.MaxMode, _statuses[i].MtimeUnixMs);
                return new JobSinkFile(partial, partial);
            }, Report);
            connection.StartReceiving(new JobDataSink(_sink), have);
        }

        // JOB_GET: a file's outcome (any thread): to the observer, and its FILE_RESULT to the server.
        private void Report(JobFileOutcome outcome)
        {
            int i = outcome.Index;
            ushort code = outcome.Failure is { } kind ? (ushort)TcpErrors.ToWire(kind) : (ushort)0;
            if (code == 0)
            {
                long size = _layout!.Size(i);
                observer.EntryProgress(i, size, _resumed[i]);
                observer.EntryDone(i, new TransferResult(size, _clock.Elapsed, Convert.ToHexStringLower(outcome.Sha256!)) { ResumedBytes = _resumed[i] });
            }
            else
            {
                observer.EntryFailed(i, outcome.Failure!.Value, outcome.Message);
            }

            _outbox.Enqueue(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(i, code, code == 0 ? string.Empty : outcome.Message)));
            Interlocked.Increment(ref _reported); // after the frame is queued: DONE must follow every FILE_RESULT
        }

        // JOB_GET, every file resolved: the directories (deepest first, so their mtimes stay), then DONE.
        private void FinishDownload(Connection connection)
        {
            _doneSent = true;
            while (_outbox.TryDequeue(out var frame))
            {
                connection.WriteStream(frame);
            }

            foreach (int i in _accepted.Where(i => entries[i].Kind == JobEntryKind.Directory).OrderByDescending(i => entries[i].RemotePath.Count(c => c == '/')).ThenBy(i => i))
            {
                ushort code = 0;
                string text = string.Empty;
                try
                {
                    LocalTree.MakeDirectory(entries[i].LocalPath, entries[i].Mode & TcpWire.MaxMode, _statuses[i].MtimeUnixMs);
                    observer.EntryDone(i, new TransferResult(0, _clock.Elapsed, string.Empty));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    code = (ushort)(e is UnauthorizedAccessException ? TcpErrorCode.Denied : TcpErrorCode.Io);
                    text = $"cannot create directory '{entries[i].LocalPath}': {e.Message}";
                    observer.EntryFailed(i, TcpErrors.FromWire((TcpErrorCode)code), text);
                }

                connection.WriteStream(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(i, code, text)));
            }

            var done = new byte[TcpSmallFrames.DoneFrameLength];
            TcpSmallFrames.WriteDone(done);
            connection.WriteStream(done);
        }

        // Per-file progress from the job-space bytes the receiver holds without a gap (files travel in order).
        private void ReportProgress(long contiguous)
        {
            var layout = _layout!;
            while (_progressCursor < _files.Count)
            {
                int i = _files[_progressCursor];
                var (start, end) = layout.RangeOf(i);
                if (contiguous <= start)
                {
                    return;
                }

                observer.EntryProgress(i, Math.Min(end, contiguous) - start, _resumed[i]);
                if (contiguous < end)
                {
                    return;
                }

                _progressCursor++;
            }
        }

        private void OnClosed(Connection connection, ConnectionEvent ev)
        {
            if (_doneRead || (_doneSent && ev.ByPeer && ev.Code == TransferError.None))
            {
                Succeeded = true;
                return;
            }

            if (Failure is not null)
            {
                return;
            }

            if (ev.ByPeer && ev.Code == TransferError.ProtocolViolation && !_started && ev.Message.Contains("unknown operation", StringComparison.Ordinal))
            {
                Failure = new TransferException(ExitCode.Failure, $"the server does not take a job of many files in one connection ({ev.Message})") { CarrierUnsupported = true };
                return;
            }

            Failure = ev.Code switch
            {
                TransferError.IdleTimeout when connection.Stats.PacketsReceived == 0 => new TransferException(ExitCode.Timeout, $"no answer from the server: {ev.Message}"),
                TransferError.IdleTimeout => new TransferException(ExitCode.Timeout, $"{ev.Message}; {Failures.ResumeHint}"),
                TransferError.None => new TransferException(ExitCode.Failure, "the server closed the connection before the job finished"),
                _ when !ev.ByPeer && ev.Code == TransferError.ProtocolViolation => new TransferException(ExitCode.Failure, $"protocol error: {ev.Message}"),
                _ => Failures.FromServer(UdpErrors.FromWire(ev.Code), ev.Message),
            };
        }

        private void Violation(Connection connection, string message, long now) => connection.Close(TransferError.ProtocolViolation, message, now);

        private FileIdentity Identity(int i) => new(_statuses[i].Size, _statuses[i].MtimeUnixMs);

        public void Dispose()
        {
            _stop.Cancel();
            if (_hasher is { } hasher)
            {
                try
                {
                    hasher.Wait(TimeSpan.FromSeconds(5));
                }
                catch (AggregateException)
                {
                }
            }

            _source?.Dispose();
            _sink?.Dispose();
            _stop.Dispose();
        }
    }
}
