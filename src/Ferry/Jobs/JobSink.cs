using Ferry.Files;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>A file of a job opened for receiving: the partial file, and what to dispose with it (a server's upload lease).</summary>
public sealed record JobSinkFile(PartialFile File, IDisposable Owner);

/// <summary>The end of one file of a job at the receiver: committed (<see cref="Failure"/> null) or failed, and why.</summary>
public readonly record struct JobFileOutcome(int Index, FailureKind? Failure, string Message, byte[]? Sha256);

/// <summary>
/// The receiving end of a job, whatever carries it: writes in the job's byte space (<see cref="JobLayout"/>) go to
/// per-file <see cref="PartialFile"/>s opened at a file's first byte, and a file is committed (verified, under its final
/// name, with its metadata) once all its bytes are in and its SHA-256 arrived. Every file handed in ends with exactly one
/// outcome. At most <see cref="MaxOpenFiles"/> files are open for receiving at once: a write that needs one more waits
/// until a file is committed or failed (back-pressure on the stream that carries it). A 0-byte file, or one whose bytes
/// were all present before the run, is opened, committed and closed when its hash arrives, outside that bound, so the
/// hashes (which free the open files) never wait for a slot. A file the receiver may already hold (<c>open</c> returns
/// null) takes no slot: its bytes are dropped, and once its hash arrives <c>checkHeld</c> says whether the copy here is
/// that file (committed) or not (failed). Thread-safe: streams write concurrently.
/// </summary>
public sealed class JobSink : IDisposable
{
    /// <summary>Default bound on files open for receiving.</summary>
    public const int DefaultMaxOpenFiles = 256;

    private readonly Lock _sync = new();
    private readonly JobLayout _layout;
    private readonly Func<int, JobSinkFile?> _open;
    private readonly Func<int, byte[], FileEngineException?>? _checkHeld;
    private readonly Action<JobFileOutcome> _report;
    private readonly SemaphoreSlim _slots;
    private readonly State[] _state;
    private readonly JobSinkFile?[] _files;
    private readonly long[] _unsynced;
    private readonly Dictionary<int, byte[]> _hashes = new();
    private readonly HashSet<int> _unboundedSet = new();
    private readonly RangeSet _received = new();
    private readonly TaskCompletionSource _resolved = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;
    private int _disposed;

    /// <param name="layout">The job's byte space (one slot per entry; entries that carry no file bytes have size 0).</param>
    /// <param name="files">The entries that are files to receive (accepted); the others get no outcome.</param>
    /// <param name="present">Job-space bytes the receiver held before this run (resume); they are not written again.</param>
    /// <param name="open">
    /// Opens entry i's partial file; a <see cref="FileEngineException"/> fails that file only. Null (only with
    /// <paramref name="checkHeld"/>): the receiver may already hold that file.
    /// </param>
    /// <param name="report">Gets every file's outcome (any thread, not under a lock of this class).</param>
    /// <param name="checkHeld">For a file <paramref name="open"/> said may be held: null when the copy here has the sender's SHA-256, else why it fails.</param>
    public JobSink(
        JobLayout layout, IEnumerable<int> files, RangeSet present, Func<int, JobSinkFile?> open, Action<JobFileOutcome> report,
        int maxOpenFiles = DefaultMaxOpenFiles, Func<int, byte[], FileEngineException?>? checkHeld = null)
    {
        _layout = layout;
        _open = open;
        _checkHeld = checkHeld;
        _report = report;
        MaxOpenFiles = maxOpenFiles;
        _slots = new SemaphoreSlim(maxOpenFiles, maxOpenFiles);
        _state = new State[layout.Count];
        _files = new JobSinkFile?[layout.Count];
        _unsynced = new long[layout.Count];
        foreach (int i in files)
        {
            _state[i] = State.Pending;
            _pending++;
        }

        foreach (var r in present)
        {
            _received.Add(r.Start, r.End);
        }

        if (_pending == 0)
        {
            _resolved.TrySetResult();
        }
    }

    private enum State : byte
    {
        None = 0,
        Pending,
        Open,
        Held,
        Committing,
        Resolved,
    }

    public int MaxOpenFiles { get; }

    /// <summary>Bytes written to one file between two checkpoints (fdatasync and journal); default 256 MiB.</summary>
    public long CheckpointBytes { get; init; } = 256L << 20;

    /// <summary>Completes once every file's outcome has been reported.</summary>
    public Task AllResolved => _resolved.Task;

    /// <summary>True once every byte of the job's space is at the receiver (written now or present before).</summary>
    public bool DataComplete
    {
        get
        {
            lock (_sync)
            {
                return _received.ContainsAll(0, _layout.TotalSize);
            }
        }
    }

    /// <summary>Job-space bytes received so far (present ones included).</summary>
    public long BytesReceived
    {
        get
        {
            lock (_sync)
            {
                return _received.TotalLength;
            }
        }
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="jobOffset"/>: each piece goes to its file; bytes of a failed file are dropped.</summary>
    public void Write(long jobOffset, ReadOnlySpan<byte> data, CancellationToken ct = default)
    {
        foreach (var seg in _layout.Segments(jobOffset, data.Length))
        {
            var file = Acquire(seg.File, ct);
            if (file is null)
            {
                continue;
            }

            try
            {
                file.File.Write(seg.FileOffset, data.Slice((int)seg.RangeOffset, (int)seg.Length));

                // Periodic durability for a large file: a crash loses at most CheckpointBytes of it, not all of it.
                if (Interlocked.Add(ref _unsynced[seg.File], seg.Length) >= CheckpointBytes)
                {
                    Interlocked.Exchange(ref _unsynced[seg.File], 0);
                    file.File.Checkpoint();
                }
            }
            catch (FileEngineException e)
            {
                Fail(seg.File, Failures.From(e.Code), e.Message);
                continue;
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException && IsResolved(seg.File))
            {
                continue; // aborted by the sender while this piece was on its way
            }

            TryCommit(seg.File);
        }

        lock (_sync)
        {
            _received.Add(jobOffset, jobOffset + data.Length);
        }
    }

    /// <summary>The sender's SHA-256 of entry <paramref name="index"/>; commits it when its bytes are in.</summary>
    public void SetHash(int index, byte[] sha256)
    {
        bool openNow;
        lock (_sync)
        {
            if (_state[index] is State.None or State.Resolved || _hashes.ContainsKey(index))
            {
                return;
            }

            _hashes[index] = sha256;
            var (start, end) = _layout.RangeOf(index);
            openNow = _state[index] == State.Pending && _received.ContainsAll(start, end);
        }

        if (openNow)
        {
            // Nothing more will be written to it (0 bytes, or all present): open, commit and close it outside the bound.
            if (OpenLocked(index, bounded: false) is null)
            {
                TryResolveHeld(index);
                return;
            }
        }

        TryResolveHeld(index);
        TryCommit(index);
    }

    /// <summary>The sender cannot read entry <paramref name="index"/>: whatever arrived is discarded; the file fails.</summary>
    public void Abort(int index, FailureKind kind, string message)
    {
        lock (_sync)
        {
            if (_state[index] is State.None or State.Resolved or State.Committing)
            {
                return;
            }
        }

        Fail(index, kind, message, keepForResume: false);
    }

    /// <summary>Closes every open file, keeping what was received for a later run (temp file and journal).</summary>
    public void Dispose()
    {
        List<JobSinkFile> open = new();
        lock (_sync)
        {
            // Under the lock: an open that follows sees _disposed and opens nothing.
            if (_disposed != 0)
            {
                return;
            }

            _disposed = 1;
            for (int i = 0; i < _files.Length; i++)
            {
                if (_files[i] is { } f && _state[i] == State.Open)
                {
                    open.Add(f);
                    _files[i] = null;
                }
            }
        }

        foreach (var f in open)
        {
            Close(f);
        }
    }

    private bool IsResolved(int index)
    {
        lock (_sync)
        {
            return _state[index] == State.Resolved;
        }
    }

    private JobSinkFile? Acquire(int index, CancellationToken ct)
    {
        lock (_sync)
        {
            switch (_state[index])
            {
                case State.Open or State.Committing:
                    return _files[index];
                case State.Pending:
                    break;
                default:
                    return null;
            }
        }

        // Back-pressure: wait for a slot outside the lock, then open unless another stream did meanwhile.
        _slots.Wait(ct);
        bool release = true;
        try
        {
            var file = OpenLocked(index, bounded: true);
            release = false;
            return file;
        }
        finally
        {
            if (release)
            {
                _slots.Release();
            }
        }
    }

    // Opens entry index if still pending (under the lock: opens are serialized, writes and commits are not).
    private JobSinkFile? OpenLocked(int index, bool bounded)
    {
        FileEngineException? failure = null;
        JobSinkFile? result = null;
        bool alreadyOpen = false, held = false;
        lock (_sync)
        {
            if (_state[index] != State.Pending || _disposed != 0)
            {
                // Opened by another stream meanwhile, resolved, or the sink is closed (a late write of a session that ended).
                alreadyOpen = true;
                result = _state[index] is State.Open or State.Committing ? _files[index] : null;
            }
            else
            {
                try
                {
                    result = _open(index);
                    if (result is null && _checkHeld is not null)
                    {
                        _state[index] = State.Held;
                        held = true;
                    }
                    else if (result is null)
                    {
                        throw new InvalidOperationException("the job sink's open returned no file");
                    }
                    else
                    {
                        _files[index] = result;
                        _state[index] = State.Open;
                        if (!bounded)
                        {
                            _unboundedSet.Add(index);
                        }
                    }
                }
                catch (FileEngineException e)
                {
                    failure = e;
                }
            }
        }

        if (bounded && (alreadyOpen || held || failure is not null))
        {
            _slots.Release();
        }

        if (held)
        {
            TryResolveHeld(index);
        }

        if (failure is not null)
        {
            Fail(index, Failures.From(failure.Code), failure.Message, keepForResume: true);
            return null;
        }

        return result;
    }

    // A file that may be held here, once its hash is known: the copy here is checked against it, and the file resolves.
    private void TryResolveHeld(int index)
    {
        byte[] hash;
        lock (_sync)
        {
            if (_state[index] != State.Held || !_hashes.TryGetValue(index, out hash!))
            {
                return;
            }

            _state[index] = State.Committing;
        }

        FailureKind? failure = null;
        string message = "already here";
        try
        {
            if (_checkHeld!(index, hash) is { } refused)
            {
                failure = Failures.From(refused.Code);
                message = refused.Message;
            }
        }
        catch (FileEngineException e)
        {
            failure = Failures.From(e.Code);
            message = e.Message;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = FailureKind.Io;
            message = e.Message;
        }

        Resolve(index, null, new JobFileOutcome(index, failure, message, failure is null ? hash : null));
    }

    private void TryCommit(int index)
    {
        JobSinkFile file;
        byte[] hash;
        lock (_sync)
        {
            if (_state[index] != State.Open || !_hashes.TryGetValue(index, out hash!) || _files[index] is not { } f || !f.File.IsComplete)
            {
                return;
            }

            _state[index] = State.Committing;
            file = f;
        }

        // Verified now; made durable and put in place by a batch with the files committed meanwhile (a group commit of
        // many files shares the filesystem's journal commits), without holding this thread: it is a stream's or the
        // control connection's. The file keeps its slot until it is in place.
        Task commit;
        try
        {
            commit = file.File.CommitAsync(hash);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Resolve(index, file, Outcome(index, e, hash));
            return;
        }

        if (commit.IsCompleted)
        {
            Resolve(index, file, Outcome(index, commit.Exception?.InnerException, hash));
            return;
        }

        commit.ContinueWith(
            t => Resolve(index, file, Outcome(index, t.Exception?.InnerException, hash)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static JobFileOutcome Outcome(int index, Exception? error, byte[] hash) => error switch
    {
        null => new JobFileOutcome(index, null, "committed", hash),
        FileEngineException e => new JobFileOutcome(index, Failures.From(e.Code), e.Message, null),
        _ => new JobFileOutcome(index, FailureKind.Io, error.Message, null),
    };

    private void Fail(int index, FailureKind kind, string message, bool keepForResume = true)
    {
        JobSinkFile? file;
        lock (_sync)
        {
            if (_state[index] is State.None or State.Resolved or State.Committing)
            {
                return;
            }

            file = _files[index];
        }

        if (file is not null && !keepForResume)
        {
            try
            {
                file.File.Abort(keepForResume: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        Resolve(index, file, new JobFileOutcome(index, kind, message, null));
    }

    private void Resolve(int index, JobSinkFile? file, JobFileOutcome outcome)
    {
        bool bounded;
        lock (_sync)
        {
            if (_state[index] == State.Resolved)
            {
                return;
            }

            bounded = file is not null && !_unboundedSet.Remove(index);
            _state[index] = State.Resolved;
            _files[index] = null;
            _hashes.Remove(index);
        }

        if (file is not null)
        {
            Close(file);
            if (bounded)
            {
                _slots.Release();
            }
        }

        // Counted only once reported: a file resolved on another thread at the same moment must not complete
        // AllResolved (after which the receiver sends its last message) before this outcome is out.
        _report(outcome);
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _resolved.TrySetResult();
        }
    }

    private static void Close(JobSinkFile file)
    {
        try
        {
            file.Owner.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Keeping the partial data for resume is best effort.
        }
    }
}
