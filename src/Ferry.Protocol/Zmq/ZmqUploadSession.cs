using Ferry.Protocol.Common;

namespace Ferry.Protocol.Zmq;

/// <summary>
/// The rules of one client's upload of one filename (the HELLO / CHUNK / CLOSE protocol), as a pure state machine: no I/O, time is an argument.
/// The shell feeds requests in arrival order and performs the <see cref="ZmqStep"/> it gets back (acquire, write,
/// commit, abort), then reports the outcome, which yields the reply.
/// <list type="number">
/// <item>HELLO first: CHUNK/CLOSE without an open transfer get ERROR.</item>
/// <item>Chunks in transit must not overlap: a chunk overlapping one that was still unanswered when it arrived gets ERROR;
///   so does a bad checksum. Neither affects any other chunk.</item>
/// <item>CLOSE needs [0, size) complete and size equal to the highest chunk end; otherwise ERROR and the transfer is aborted.</item>
/// <item>HELLO ERROR sets up nothing; a HELLO while the transfer is open gets ERROR and leaves it untouched.</item>
/// <item>An open transfer with no request for <see cref="IdleTimeout"/> expires (<see cref="OnTimeout"/>).</item>
/// </list>
/// </summary>
public sealed class ZmqUploadSession
{
    // Chunks of this transfer in arrival order; those that arrived before a new request's FirstUnanswered were
    // answered by then and are dropped. Bounded by the per-client unanswered limit.
    private readonly Queue<InTransitChunk> _recent = new();
    private TimeSpan _lastActivity;

    /// <param name="fileName">The filename of HELLO; every request routed here carries the same.</param>
    /// <param name="idleTimeout">How long an open transfer may go without a request.</param>
    /// <param name="maxFileSize">Largest offset + size a chunk may reach (at most <see cref="ZmqLimits.MaxFileSize"/>).</param>
    public ZmqUploadSession(string fileName, TimeSpan idleTimeout, long maxFileSize = ZmqLimits.MaxFileSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFileSize);
        FileName = fileName;
        IdleTimeout = idleTimeout;
        MaxFileSize = Math.Min(maxFileSize, ZmqLimits.MaxFileSize);
    }

    public string FileName { get; }

    public TimeSpan IdleTimeout { get; }

    /// <summary>Largest file this session accepts.</summary>
    public long MaxFileSize { get; }

    public ZmqSessionState State { get; private set; }

    /// <summary>True from a successful HELLO until CLOSE, abort or expiry: a file is held for this session.</summary>
    public bool HoldsFile => State is ZmqSessionState.Open or ZmqSessionState.Closing;

    /// <summary>Byte ranges written so far in the open transfer.</summary>
    public RangeSet Received { get; } = new();

    /// <summary>Chunks written (READY) in the current transfer.</summary>
    public long ChunksAccepted { get; private set; }

    /// <summary>Chunks rejected (ERROR) in the current transfer.</summary>
    public long ChunksRejected { get; private set; }

    /// <summary>When the open transfer expires unless a request comes first; null when no transfer is open.</summary>
    public TimeSpan? NextWakeup => State == ZmqSessionState.Open ? _lastActivity + IdleTimeout : null;

    /// <summary>HELLO: either ERROR (a transfer of this file is already open here) or acquire the file.</summary>
    public ZmqStep OnHello(TimeSpan now, ZmqArrival arrival)
    {
        _ = arrival;
        if (State != ZmqSessionState.Idle)
        {
            // Rule 4: the open transfer is not affected.
            Touch(now);
            return ZmqStep.Fail(ZmqErrors.AlreadyOpen(FileName));
        }

        State = ZmqSessionState.Opening;
        return ZmqStep.Do(ZmqStepKind.AcquireFile);
    }

    /// <summary>Outcome of acquiring the file: null when it is ready (READY), else the refusal text (ERROR, nothing set up).</summary>
    public ZmqReply OnHelloResult(TimeSpan now, string? error)
    {
        if (State != ZmqSessionState.Opening)
        {
            throw new InvalidOperationException($"OnHelloResult in state {State}");
        }

        if (error is not null)
        {
            State = ZmqSessionState.Idle;
            return ZmqReply.Fail(error);
        }

        State = ZmqSessionState.Open;
        Received.Clear();
        _recent.Clear();
        ChunksAccepted = 0;
        ChunksRejected = 0;
        _lastActivity = now;
        return ZmqReply.Ready;
    }

    /// <summary>CHUNK (already well-formed: size equals data length): ERROR, or write it.</summary>
    public ZmqStep OnChunk(TimeSpan now, ZmqArrival arrival, long offset, in Sha256Digest checksum, ReadOnlySpan<byte> data)
    {
        if (State != ZmqSessionState.Open)
        {
            return ZmqStep.Fail(ZmqErrors.NoTransfer(FileName));
        }

        Touch(now);

        // Forget chunks the client had its answer for (answered before this request arrived).
        while (_recent.Count > 0 && _recent.Peek().Sequence < arrival.FirstUnanswered)
        {
            _recent.Dequeue();
        }

        long end = 0;
        string? error = Check(arrival, offset, data.Length, checksum, data, ref end);

        // Every chunk of the transfer counts as in transit until answered, rejected or not: the rule is about what
        // the client has outstanding.
        _recent.Enqueue(new InTransitChunk(arrival.Sequence, offset, end));
        if (error is not null)
        {
            ChunksRejected++;
            return ZmqStep.Fail(error);
        }

        return ZmqStep.Do(ZmqStepKind.Write);
    }

    /// <summary>Outcome of writing an accepted chunk: null on success (READY, range recorded), else the I/O error (ERROR).</summary>
    public ZmqReply OnChunkWritten(TimeSpan now, long offset, long length, string? error)
    {
        if (State != ZmqSessionState.Open)
        {
            throw new InvalidOperationException($"OnChunkWritten in state {State}");
        }

        Touch(now);
        if (error is not null)
        {
            ChunksRejected++;
            return ZmqReply.Fail(error);
        }

        Received.Add(offset, offset + length);
        ChunksAccepted++;
        return ZmqReply.Ready;
    }

    /// <summary>CLOSE: ERROR when no transfer is open; Abort (with the ERROR to send) when a rule is broken; else Commit.</summary>
    public ZmqStep OnClose(TimeSpan now, ZmqArrival arrival, long size)
    {
        _ = arrival;
        if (State != ZmqSessionState.Open)
        {
            return ZmqStep.Fail(ZmqErrors.NoTransfer(FileName));
        }

        Touch(now);
        long end = Received.IsEmpty ? 0 : Received.Last.End;
        string? error = null;
        if (end != size)
        {
            error = ZmqErrors.CloseSizeMismatch(size, end);
        }
        else if (!Received.IsEmpty && (Received.Count > 1 || Received.First.Start != 0))
        {
            var gap = Received.Gaps(0, end).First();
            error = ZmqErrors.CloseGap(gap.Start, gap.End);
        }

        if (error is not null)
        {
            State = ZmqSessionState.Idle;
            _recent.Clear();
            return new ZmqStep(ZmqStepKind.Abort, ZmqReply.Fail(error));
        }

        State = ZmqSessionState.Closing;
        return ZmqStep.Do(ZmqStepKind.Commit);
    }

    /// <summary>Outcome of the commit: null when the file is in place (READY), else why not (ERROR). Either way the transfer is over.</summary>
    public ZmqReply OnCloseResult(TimeSpan now, string? error)
    {
        if (State != ZmqSessionState.Closing)
        {
            throw new InvalidOperationException($"OnCloseResult in state {State}");
        }

        Touch(now);
        State = ZmqSessionState.Idle;
        _recent.Clear();
        return error is null ? ZmqReply.Ready : ZmqReply.Fail(error);
    }

    /// <summary>
    /// Checks the idle timeout at <paramref name="now"/>. Returns true exactly once when the open transfer expired:
    /// the shell must then abort it (temp data removed, filename released). No reply is due.
    /// </summary>
    public bool OnTimeout(TimeSpan now)
    {
        if (State != ZmqSessionState.Open || now < _lastActivity + IdleTimeout)
        {
            return false;
        }

        State = ZmqSessionState.Idle;
        _recent.Clear();
        return true;
    }

    /// <summary>The shell lost the file under an open transfer (e.g. shutdown): forget it without a reply.</summary>
    public void Reset()
    {
        State = ZmqSessionState.Idle;
        _recent.Clear();
    }

    private void Touch(TimeSpan now)
    {
        if (now > _lastActivity)
        {
            _lastActivity = now;
        }
    }

    private string? Check(ZmqArrival arrival, long offset, int length, in Sha256Digest checksum, ReadOnlySpan<byte> data, ref long end)
    {
        if (length == 0)
        {
            end = offset;
            return ZmqErrors.EmptyChunk;
        }

        if (offset > MaxFileSize - length)
        {
            end = offset > long.MaxValue - length ? long.MaxValue : offset + length;
            return ZmqErrors.BeyondMaxFileSize(end, MaxFileSize);
        }

        end = offset + length;
        if (Received.Count >= ZmqLimits.MaxRangesPerTransfer && !Received.Overlaps(Math.Max(0, offset - 1), end + 1))
        {
            // It would start one more separate range (touching or overlapping one merges instead).
            return ZmqErrors.TooManyRanges(offset, end);
        }

        foreach (var c in _recent)
        {
            if (c.Sequence < arrival.Sequence && c.Start < end && offset < c.End)
            {
                return ZmqErrors.Overlap(offset, end, c.Start, c.End);
            }
        }

        var actual = Sha256Digest.Of(data);
        if (!actual.Equals(checksum))
        {
            return ZmqErrors.ChecksumMismatch(checksum, actual);
        }

        return null;
    }

    private readonly record struct InTransitChunk(long Sequence, long Start, long End);
}
