namespace Ferry.Protocol.Zmq;

/// <summary>
/// The client side of a zmq:// upload as a pure state machine: what to send next (HELLO, then up to
/// <see cref="Window"/> pipelined CHUNKs, then CLOSE once every chunk is acknowledged) and what each reply means.
/// Replies are matched to requests by order, which the server guarantees per client. Chunks never overlap, so the
/// in-transit rule holds by construction.
/// </summary>
public sealed class ZmqUploadPipeline
{
    private readonly Queue<ZmqOutgoing> _unanswered = new();
    private long _nextOffset;
    private bool _helloSent;
    private bool _closeSent;

    public ZmqUploadPipeline(long length, int chunkSize, int window)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkSize, ZmqLimits.MaxChunkBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        Length = length;
        ChunkSize = chunkSize;
        Window = window;
    }

    public long Length { get; }

    public int ChunkSize { get; }

    /// <summary>Most chunks sent and not yet answered.</summary>
    public int Window { get; }

    public ZmqUploadPhase Phase { get; private set; }

    /// <summary>Bytes the server confirmed (READY to their CHUNK).</summary>
    public long BytesAcknowledged { get; private set; }

    /// <summary>Chunks sent in all.</summary>
    public long ChunksSent { get; private set; }

    /// <summary>Requests without a reply yet.</summary>
    public int Unanswered => _unanswered.Count;

    /// <summary>The server's ERROR text once <see cref="Phase"/> is Failed.</summary>
    public string? Error { get; private set; }

    /// <summary>The request the ERROR answered (what failed: HELLO, which CHUNK, or CLOSE).</summary>
    public ZmqOutgoing? FailedRequest { get; private set; }

    /// <summary>The next request to send now, or null when the client must wait for a reply (or is finished).</summary>
    public ZmqOutgoing? NextToSend()
    {
        ZmqOutgoing next;
        switch (Phase)
        {
            case ZmqUploadPhase.Hello when !_helloSent:
                _helloSent = true;
                next = new ZmqOutgoing(ZmqVerb.Hello, 0, 0);
                break;
            case ZmqUploadPhase.Chunks when _nextOffset < Length && _unanswered.Count < Window:
                int len = (int)Math.Min(ChunkSize, Length - _nextOffset);
                next = new ZmqOutgoing(ZmqVerb.Chunk, _nextOffset, len);
                _nextOffset += len;
                ChunksSent++;
                break;
            case ZmqUploadPhase.Chunks when _nextOffset == Length && _unanswered.Count == 0 && !_closeSent:
                // CLOSE only after every chunk is confirmed: then "no gaps" is certain, and nothing is in transit.
                _closeSent = true;
                Phase = ZmqUploadPhase.Close;
                next = new ZmqOutgoing(ZmqVerb.Close, Length, 0);
                break;
            default:
                return null;
        }

        _unanswered.Enqueue(next);
        return next;
    }

    /// <summary>Applies the reply to the oldest unanswered request; returns that request.</summary>
    public ZmqOutgoing OnReply(ZmqReply reply)
    {
        if (!_unanswered.TryDequeue(out var request))
        {
            throw new InvalidOperationException("reply without a request");
        }

        if (Phase is ZmqUploadPhase.Failed or ZmqUploadPhase.Done)
        {
            return request;
        }

        if (!reply.IsReady)
        {
            Phase = ZmqUploadPhase.Failed;
            Error = reply.Error;
            FailedRequest = request;
            return request;
        }

        switch (request.Verb)
        {
            case ZmqVerb.Hello:
                Phase = ZmqUploadPhase.Chunks;
                break;
            case ZmqVerb.Chunk:
                BytesAcknowledged += request.Length;
                break;
            default:
                Phase = ZmqUploadPhase.Done;
                break;
        }

        return request;
    }
}
